// Level 16: many standard packages at once, the way real services link them.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"unicode"
)

type Record struct {
	XMLName xml.Name `xml:"record"`
	ID      int      `xml:"id,attr"`
	Words   []string `xml:"word"`
}

var counter int64

func compress(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	err := zw.Close()
	return buf.Bytes(), err
}

func words(text string) []string {
	re := regexp.MustCompile(`[A-Za-z]+`)
	out := re.FindAllString(text, -1)
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

func main() {
	verbose := flag.Bool("v", false, "verbose")
	flag.Parse()
	text := "The quick brown Fox jumps over the lazy dog"
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		if unicode.IsUpper(rune(sc.Text()[0])) {
			atomic.AddInt64(&counter, 1)
		}
	}
	rec := Record{ID: 1, Words: words(text)}
	x, _ := xml.Marshal(rec)
	z, err := compress(x)
	if err != nil && !errors.Is(err, io.EOF) {
		panic(err)
	}
	sum := sha256.Sum256(z)
	n := new(big.Int).Exp(big.NewInt(2), big.NewInt(100), nil)
	_, lookErr := exec.LookPath("true")
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "upper\t%d\nxml\t%d\ngzip\t%d\nsha\t%s\n2^100\t%s\ntrue\t%v\n",
		atomic.LoadInt64(&counter), len(x), len(z), base64.StdEncoding.EncodeToString(sum[:6]),
		n.String(), lookErr == nil)
	tw.Flush()
	if *verbose {
		fmt.Println(strconv.Quote(text))
	}
}
