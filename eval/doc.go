// Package eval computes sample-quality metrics and the Wasserstein-vs-MMD comparison.
//
// Status: the package arrives with the evaluation issue; it is empty until then.
package eval
