package data_test

import (
	"fmt"

	"github.com/sinkgen/sinkgen/data"
)

// LoadMNIST("") finds the idx files of the GoMNIST module, which the go command
// downloaded with the other modules of the build, and checks them.
func ExampleLoadMNIST() {
	m, err := data.LoadMNIST("")
	if err != nil {
		fmt.Println(err)
		return
	}
	img := m.Train.Image(0) // 784 intensities in [0,1], row-major
	fmt.Println(m.Train.Len(), m.Test.Len(), len(img), m.Train.Labels[0])
}
