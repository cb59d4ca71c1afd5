package train

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sinkgen/sinkgen/internal/atomicfile"
)

// StepStats describes one training step: a row of metrics.csv and metrics.jsonl.
type StepStats struct {
	// Step counts the updates done, this one included (1-based).
	Step int `json:"step"`
	// Loss is the loss value of the step's forward pass.
	Loss float64 `json:"loss"`
	// Eps is the ε of the step (null in JSON when +Inf; 0 for the MMD kinds).
	Eps float64 `json:"eps"`
	// MarginalError is ‖P1 − a‖₁ of the cross Sinkhorn problem's last iterate.
	MarginalError float64 `json:"marginal_error"`
	// Iterations is the number of Sinkhorn iterations per problem (0 for closed forms).
	Iterations int `json:"iterations"`
	// GradNorm is the global ℓ2 norm of the gradient (before clipping).
	GradNorm float64 `json:"grad_norm"`
	// LR is the learning rate of the update.
	LR float64 `json:"lr"`
	// StepMs is the wall time of the step in milliseconds.
	StepMs float64 `json:"step_ms"`
	// Elapsed is the wall time of the run so far in seconds (across resumptions).
	Elapsed float64 `json:"elapsed_s"`
	// CriticSteps is the number of critic updates before this step (0: fixed cost);
	// CriticLoss, Penalty, Autoencoder and CriticGradNorm are the loss the critic
	// maximized, its gradient penalty, autoencoder term and gradient norm, at the last
	// of them.
	CriticSteps    int     `json:"critic_steps"`
	CriticLoss     float64 `json:"critic_loss"`
	Penalty        float64 `json:"penalty"`
	Autoencoder    float64 `json:"autoencoder"`
	CriticGradNorm float64 `json:"critic_grad_norm"`
}

var csvHeader = []string{"step", "loss", "eps", "marginal_error", "iterations", "grad_norm", "lr",
	"critic_steps", "critic_loss", "penalty", "autoencoder", "critic_grad_norm", "step_ms", "elapsed_s"}

func (s StepStats) csvRow() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return []string{strconv.Itoa(s.Step), f(s.Loss), f(s.Eps), f(s.MarginalError), strconv.Itoa(s.Iterations),
		f(s.GradNorm), f(s.LR), strconv.Itoa(s.CriticSteps), f(s.CriticLoss), f(s.Penalty), f(s.Autoencoder), f(s.CriticGradNorm),
		strconv.FormatFloat(s.StepMs, 'f', 3, 64), strconv.FormatFloat(s.Elapsed, 'f', 3, 64)}
}

// MarshalJSON writes non-finite numbers as null (JSON has no Inf or NaN).
func (s StepStats) MarshalJSON() ([]byte, error) {
	num := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	return json.Marshal(map[string]any{
		"step": s.Step, "loss": num(s.Loss), "eps": num(s.Eps), "marginal_error": num(s.MarginalError),
		"iterations": s.Iterations, "grad_norm": num(s.GradNorm), "lr": num(s.LR),
		"step_ms": math.Round(s.StepMs*1000) / 1000, "elapsed_s": math.Round(s.Elapsed*1000) / 1000,
		"critic_steps": s.CriticSteps, "critic_loss": num(s.CriticLoss), "penalty": num(s.Penalty), "autoencoder": num(s.Autoencoder),
		"critic_grad_norm": num(s.CriticGradNorm),
	})
}

// metricsLog appends rows to metrics.csv and metrics.jsonl.
type metricsLog struct {
	csvFile, jsonFile *os.File
	csv               *csv.Writer
	json              *bufio.Writer
}

// openMetrics opens the two files for appending, keeping only the rows of steps ≤
// keep (all rows are dropped for keep = 0): a resumed run continues the files exactly
// where its checkpoint was taken.
func openMetrics(csvPath, jsonPath string, keep int) (*metricsLog, error) {
	if err := truncateRows(csvPath, keep, true); err != nil {
		return nil, err
	}
	if err := truncateRows(jsonPath, keep, false); err != nil {
		return nil, err
	}
	cf, err := os.OpenFile(csvPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	jf, err := os.OpenFile(jsonPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		cf.Close()
		return nil, err
	}
	m := &metricsLog{csvFile: cf, jsonFile: jf, csv: csv.NewWriter(cf), json: bufio.NewWriter(jf)}
	if st, err := cf.Stat(); err == nil && st.Size() == 0 {
		m.csv.Write(csvHeader)
	}
	return m, nil
}

// truncateRows rewrites path with only its rows of step ≤ keep (and the CSV header).
func truncateRows(path string, keep int, isCSV bool) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for i, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 || line[len(line)-1] != '\n' {
			continue // a torn last line from a crash
		}
		if isCSV && i == 0 {
			out.Write(line)
			continue
		}
		step, ok := rowStep(line, isCSV)
		if ok && step <= keep {
			out.Write(line)
		}
	}
	return atomicfile.WriteFunc(path, func(f *os.File) error {
		_, err := f.Write(out.Bytes())
		return err
	})
}

func rowStep(line []byte, isCSV bool) (int, bool) {
	if isCSV {
		field, _, _ := bytes.Cut(line, []byte(","))
		n, err := strconv.Atoi(string(field))
		return n, err == nil
	}
	var r struct {
		Step *int `json:"step"`
	}
	if json.Unmarshal(line, &r) != nil || r.Step == nil {
		return 0, false
	}
	return *r.Step, true
}

func (m *metricsLog) add(s StepStats) error {
	if err := m.csv.Write(s.csvRow()); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	m.json.Write(b)
	return m.json.WriteByte('\n')
}

// flush writes buffered rows to the files.
func (m *metricsLog) flush() error {
	m.csv.Flush()
	if err := m.csv.Error(); err != nil {
		return err
	}
	return m.json.Flush()
}

// sync makes the rows written so far durable: flushed and fsynced. A checkpoint
// of step s is written only after the rows up to s are synced, so that a run killed
// at any moment and resumed from its newest checkpoint has every row.
func (m *metricsLog) sync() error {
	if err := m.flush(); err != nil {
		return err
	}
	if err := m.csvFile.Sync(); err != nil {
		return err
	}
	return m.jsonFile.Sync()
}

func (m *metricsLog) close() error {
	err := m.flush()
	if e := m.csvFile.Close(); err == nil {
		err = e
	}
	if e := m.jsonFile.Close(); err == nil {
		err = e
	}
	return err
}

// ReadMetrics reads columns of a run's metrics.csv, found by their names in the
// header: cols[i] is column names[i], a value per row. A file without rows has none.
func ReadMetrics(path string, names ...string) (cols [][]float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cols = make([][]float64, len(names))
	if len(rows) == 0 {
		return cols, nil
	}
	index := make([]int, len(names))
	for i, name := range names {
		if index[i] = slices.Index(rows[0], name); index[i] < 0 {
			return nil, fmt.Errorf("%s: no %s column", path, name)
		}
	}
	for r, row := range rows[1:] {
		for i, j := range index {
			v, err := strconv.ParseFloat(row[j], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: %s = %q is not a number", path, r+1, names[i], row[j])
			}
			cols[i] = append(cols[i], v)
		}
	}
	return cols, nil
}

// saveCurves draws loss.png (each step and a moving average) and eps.png (ε by step,
// log scale) from metrics.csv.
func saveCurves(csvPath, lossPath, epsPath, title string) error {
	cols, err := ReadMetrics(csvPath, "step", "loss", "eps")
	if err != nil {
		return err
	}
	steps, loss, eps := cols[0], cols[1], cols[2]
	if len(steps) == 0 {
		return nil
	}
	window := max(1, len(steps)/50)
	p, err := CurvesPlot(title+": loss", "loss", []Curve{
		{Label: "per step", Steps: steps, Values: loss, Window: 1, Color: color.RGBA{170, 190, 230, 255}},
		{Label: fmt.Sprintf("mean of %d", window), Steps: steps, Values: loss, Window: window, Color: color.RGBA{20, 60, 160, 255}},
	})
	if err != nil {
		return err
	}
	if err := SavePlots(lossPath, []*plot.Plot{p}, 1, 7*vg.Inch, 4*vg.Inch); err != nil {
		return err
	}
	q := plot.New()
	q.Title.Text = title + ": ε"
	q.X.Label.Text, q.Y.Label.Text = "step", "ε"
	pts := make(plotter.XYs, 0, len(steps))
	for i := range steps {
		if eps[i] > 0 && !math.IsInf(eps[i], 0) {
			pts = append(pts, plotter.XY{X: steps[i], Y: eps[i]})
		}
	}
	switch {
	case len(pts) == 0:
		q.Title.Text = title + ": ε = +Inf or no ε (closed-form MMD / energy) at every step"
	default:
		if len(pts) < len(steps) {
			q.Title.Text += fmt.Sprintf(" (%d steps at ε = +Inf or without ε not drawn)", len(steps)-len(pts))
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range pts {
			lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
		}
		if hi > lo*1.0001 {
			q.Y.Scale, q.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color, l.Width = color.RGBA{160, 40, 20, 255}, vg.Points(1.5)
		q.Add(plotter.NewGrid(), l)
	}
	return SavePlots(epsPath, []*plot.Plot{q}, 1, 7*vg.Inch, 3*vg.Inch)
}
