// Level 1: the smallest program that pulls in fmt (and so most of the runtime).
package main

import "fmt"

func main() {
	fmt.Println("hello, BTF")
}
