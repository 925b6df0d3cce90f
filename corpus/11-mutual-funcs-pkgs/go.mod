module corpus.example/mutualfuncs

go 1.17
