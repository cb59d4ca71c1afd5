// Command sample is a placeholder until the training issue lands: it says so and exits 2.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "sample: not implemented yet (arrives with the training issue); see README.md")
	os.Exit(2)
}
