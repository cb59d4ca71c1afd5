package eval

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Welch is Welch's unequal-variances t-test of the difference of two means, from
// each group's mean m, sample standard deviation s and size n: the statistic
// t = (m1 − m2)/√(s1²/n1 + s2²/n2), the Welch–Satterthwaite degrees of freedom and
// the two-sided p-value 2·P(T_df > |t|) (Student's t, distuv.StudentsT). It is
// defined for n ≥ 2 in each group (NaN otherwise). With both standard deviations 0
// there is no noise to test against: p is 0 when the means differ and 1 when they
// are equal (t = ±Inf or NaN, df NaN).
func Welch(m1, s1 float64, n1 int, m2, s2 float64, n2 int) (t, df, p float64) {
	if n1 < 2 || n2 < 2 || math.IsNaN(m1+m2+s1+s2) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	v1, v2 := s1*s1/float64(n1), s2*s2/float64(n2)
	if v1+v2 == 0 {
		if m1 == m2 {
			return math.NaN(), math.NaN(), 1
		}
		return math.Copysign(math.Inf(1), m1-m2), math.NaN(), 0
	}
	t = (m1 - m2) / math.Sqrt(v1+v2)
	df = (v1 + v2) * (v1 + v2) / (v1*v1/float64(n1-1) + v2*v2/float64(n2-1))
	p = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
	return t, df, math.Min(p, 1)
}
