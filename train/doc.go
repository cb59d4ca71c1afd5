// Package train holds the strict TOML config, the training loop, optimizers, logging
// and atomic checkpoints.
//
// Status: the package arrives with the training issue; it is empty until then.
package train
