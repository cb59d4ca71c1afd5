// Package models holds the generators f_θ (MLP and convolutional, built as gorgonia
// graphs) and the critics / feature maps used for learned costs, with seeded
// initialization and parameter save and load.
//
// Status: the package arrives with the training issue; it is empty until then.
package models
