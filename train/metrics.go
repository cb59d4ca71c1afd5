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
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
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
	return writeFileAtomic(path, func(f *os.File) error {
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

// readMetrics reads the step, loss and ε columns of metrics.csv.
func readMetrics(path string) (steps, loss, eps []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	rows, err := r.ReadAll()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, row := range rows[min(1, len(rows)):] {
		if len(row) < 3 {
			continue
		}
		s, e1 := strconv.ParseFloat(row[0], 64)
		l, e2 := strconv.ParseFloat(row[1], 64)
		e, e3 := strconv.ParseFloat(row[2], 64)
		if e1 != nil || e2 != nil || e3 != nil {
			continue
		}
		steps, loss, eps = append(steps, s), append(loss, l), append(eps, e)
	}
	return steps, loss, eps, nil
}

// saveCurves draws loss.png (each step and a moving average) and eps.png (ε by step,
// log scale) from metrics.csv.
func saveCurves(csvPath, lossPath, epsPath, title string) error {
	steps, loss, eps, err := readMetrics(csvPath)
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title + ": loss"
	p.X.Label.Text, p.Y.Label.Text = "step", "loss"
	raw, avg := make(plotter.XYs, 0, len(steps)), make(plotter.XYs, 0, len(steps))
	window := max(1, len(steps)/50)
	w := float64(window)
	sum, cnt := 0.0, 0 // of loss/window: no overflow whatever the losses
	for i := range steps {
		if math.IsNaN(loss[i]) || math.IsInf(loss[i], 0) {
			continue
		}
		raw = append(raw, plotter.XY{X: steps[i], Y: loss[i]})
		sum += loss[i] / w
		cnt++
		if cnt > window {
			sum -= raw[len(raw)-1-window].Y / w
			cnt = window
		}
		if m := sum / float64(cnt) * w; finite(m) {
			avg = append(avg, plotter.XY{X: steps[i], Y: m})
		}
	}
	if len(raw) > 0 {
		l1, err := plotter.NewLine(raw)
		if err != nil {
			return err
		}
		l1.Color = color.RGBA{170, 190, 230, 255}
		l2, err := plotter.NewLine(avg)
		if err != nil {
			return err
		}
		l2.Color, l2.Width = color.RGBA{20, 60, 160, 255}, vg.Points(1.5)
		p.Add(plotter.NewGrid(), l1, l2)
		p.Legend.Add("per step", l1)
		p.Legend.Add(fmt.Sprintf("mean of %d", window), l2)
		p.Legend.Top = true
	}
	if err := savePlot(p, lossPath, 7*vg.Inch, 4*vg.Inch); err != nil {
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
	return savePlot(q, epsPath, 7*vg.Inch, 3*vg.Inch)
}
