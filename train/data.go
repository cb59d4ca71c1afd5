package train

import (
	"io"

	"github.com/sinkgen/sinkgen/data"
)

// Data is the data a run of a config trains on, loaded once: MNIST's selected images,
// a data file's training part, or a toy distribution. Sources over it, for any seed,
// give the batches a run sees.
type Data struct {
	cfg  Config
	rows []float32     // MNIST: the selected images
	ds   *data.Dataset // a data file's training part
}

// OpenData loads the data of c. Config returns c with a data file's shape.
func OpenData(c Config, progress io.Writer) (*Data, error) {
	d := &Data{cfg: c}
	switch {
	case c.Data.Kind == "mnist":
		m, err := data.LoadMNIST(c.Data.Path)
		if err != nil {
			return nil, err
		}
		if d.rows, err = data.SelectMNIST(m, c.Data.Split, c.Data.Digits, c.Data.Limit); err != nil {
			return nil, err
		}
	case c.Data.IsFile():
		ds, err := c.Data.LoadData(progress)
		if err != nil {
			return nil, err
		}
		if d.cfg, err = c.WithDataShape(ds.Dim, ds.Shape); err != nil {
			return nil, err
		}
		d.ds = ds
	}
	return d, nil
}

// Config is the config the data was opened with, with a data file's shape.
func (d *Data) Config() Config { return d.cfg }

// Dataset is a data file's training part (nil for MNIST and the toys).
func (d *Data) Dataset() *data.Dataset { return d.ds }

// Source returns a source of batches seeded by seed, in random order if shuffle
// (toy distributions draw fresh points either way).
func (d *Data) Source(seed uint64, shuffle bool) (data.Source, error) {
	switch {
	case d.rows != nil:
		dim, _ := d.cfg.outShape()
		return data.NewBatcher(d.rows, dim, seed, shuffle)
	case d.ds != nil:
		return d.ds.NewBatcher(seed, shuffle)
	}
	return data.NewToy(data.Toy(d.cfg.Data.Kind), d.cfg.Data.Noise, seed)
}

// Means is the mean of each value over the data (nil for a toy distribution).
func (d *Data) Means() []float32 {
	switch {
	case d.rows != nil:
		dim, _ := d.cfg.outShape()
		return columnMeans(d.rows, dim)
	case d.ds != nil:
		return d.ds.Means()
	}
	return nil
}
