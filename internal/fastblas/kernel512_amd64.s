//go:build amd64 && !purego

#include "textflag.h"

// func kernel12x32(k int, a, b, c *float32, ldc int, alpha, beta float32)
//
// kernel6x16 with AVX-512: Z(2r) and Z(2r+1) hold columns 0–15 and 16–31 of row r,
// r < 12. Each k step loads the 32 values of B once (Z24, Z25) and reads each of the 12
// values of A as an embedded broadcast: 24 fused multiply-adds for 14 loads. Every
// entry is the same chain of fused multiply-adds over k as in kernel6x16, so both give
// the same bits.
TEXT ·kernel12x32(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $2, BX

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	TESTQ CX, CX
	JZ    done

loop:
	VMOVUPS (DI), Z24
	VMOVUPS 64(DI), Z25
	VFMADD231PS.BCST 0(SI), Z24, Z0
	VFMADD231PS.BCST 0(SI), Z25, Z1
	VFMADD231PS.BCST 4(SI), Z24, Z2
	VFMADD231PS.BCST 4(SI), Z25, Z3
	VFMADD231PS.BCST 8(SI), Z24, Z4
	VFMADD231PS.BCST 8(SI), Z25, Z5
	VFMADD231PS.BCST 12(SI), Z24, Z6
	VFMADD231PS.BCST 12(SI), Z25, Z7
	VFMADD231PS.BCST 16(SI), Z24, Z8
	VFMADD231PS.BCST 16(SI), Z25, Z9
	VFMADD231PS.BCST 20(SI), Z24, Z10
	VFMADD231PS.BCST 20(SI), Z25, Z11
	VFMADD231PS.BCST 24(SI), Z24, Z12
	VFMADD231PS.BCST 24(SI), Z25, Z13
	VFMADD231PS.BCST 28(SI), Z24, Z14
	VFMADD231PS.BCST 28(SI), Z25, Z15
	VFMADD231PS.BCST 32(SI), Z24, Z16
	VFMADD231PS.BCST 32(SI), Z25, Z17
	VFMADD231PS.BCST 36(SI), Z24, Z18
	VFMADD231PS.BCST 36(SI), Z25, Z19
	VFMADD231PS.BCST 40(SI), Z24, Z20
	VFMADD231PS.BCST 40(SI), Z25, Z21
	VFMADD231PS.BCST 44(SI), Z24, Z22
	VFMADD231PS.BCST 44(SI), Z25, Z23
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  loop

done:
	// scale by alpha
	VBROADCASTSS alpha+40(FP), Z24
	VMULPS Z24, Z0, Z0
	VMULPS Z24, Z1, Z1
	VMULPS Z24, Z2, Z2
	VMULPS Z24, Z3, Z3
	VMULPS Z24, Z4, Z4
	VMULPS Z24, Z5, Z5
	VMULPS Z24, Z6, Z6
	VMULPS Z24, Z7, Z7
	VMULPS Z24, Z8, Z8
	VMULPS Z24, Z9, Z9
	VMULPS Z24, Z10, Z10
	VMULPS Z24, Z11, Z11
	VMULPS Z24, Z12, Z12
	VMULPS Z24, Z13, Z13
	VMULPS Z24, Z14, Z14
	VMULPS Z24, Z15, Z15
	VMULPS Z24, Z16, Z16
	VMULPS Z24, Z17, Z17
	VMULPS Z24, Z18, Z18
	VMULPS Z24, Z19, Z19
	VMULPS Z24, Z20, Z20
	VMULPS Z24, Z21, Z21
	VMULPS Z24, Z22, Z22
	VMULPS Z24, Z23, Z23

	// beta = 0: store without reading C (it may hold NaN or garbage)
	MOVL  beta+44(FP), AX
	TESTL $0x7fffffff, AX
	JZ    store

	VBROADCASTSS beta+44(FP), Z25
	VFMADD231PS (DX), Z25, Z0
	VFMADD231PS 64(DX), Z25, Z1
	VMOVUPS     Z0, (DX)
	VMOVUPS     Z1, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z2
	VFMADD231PS 64(DX), Z25, Z3
	VMOVUPS     Z2, (DX)
	VMOVUPS     Z3, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z4
	VFMADD231PS 64(DX), Z25, Z5
	VMOVUPS     Z4, (DX)
	VMOVUPS     Z5, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z6
	VFMADD231PS 64(DX), Z25, Z7
	VMOVUPS     Z6, (DX)
	VMOVUPS     Z7, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z8
	VFMADD231PS 64(DX), Z25, Z9
	VMOVUPS     Z8, (DX)
	VMOVUPS     Z9, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z10
	VFMADD231PS 64(DX), Z25, Z11
	VMOVUPS     Z10, (DX)
	VMOVUPS     Z11, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z12
	VFMADD231PS 64(DX), Z25, Z13
	VMOVUPS     Z12, (DX)
	VMOVUPS     Z13, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z14
	VFMADD231PS 64(DX), Z25, Z15
	VMOVUPS     Z14, (DX)
	VMOVUPS     Z15, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z16
	VFMADD231PS 64(DX), Z25, Z17
	VMOVUPS     Z16, (DX)
	VMOVUPS     Z17, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z18
	VFMADD231PS 64(DX), Z25, Z19
	VMOVUPS     Z18, (DX)
	VMOVUPS     Z19, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z20
	VFMADD231PS 64(DX), Z25, Z21
	VMOVUPS     Z20, (DX)
	VMOVUPS     Z21, 64(DX)
	ADDQ        BX, DX
	VFMADD231PS (DX), Z25, Z22
	VFMADD231PS 64(DX), Z25, Z23
	VMOVUPS     Z22, (DX)
	VMOVUPS     Z23, 64(DX)
	VZEROUPPER
	RET

store:
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z2, (DX)
	VMOVUPS Z3, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z6, (DX)
	VMOVUPS Z7, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z8, (DX)
	VMOVUPS Z9, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z10, (DX)
	VMOVUPS Z11, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z12, (DX)
	VMOVUPS Z13, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z14, (DX)
	VMOVUPS Z15, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z16, (DX)
	VMOVUPS Z17, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z18, (DX)
	VMOVUPS Z19, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z20, (DX)
	VMOVUPS Z21, 64(DX)
	ADDQ    BX, DX
	VMOVUPS Z22, (DX)
	VMOVUPS Z23, 64(DX)
	VZEROUPPER
	RET

// func dotAVX512(x, y []float64) float64
// Σ x[i]·y[i] over len(x) entries (y at least as long), four 8-lane accumulators (32
// partial sums, twice dotAVX2's: the loop is bound by the latency of the fused
// multiply-adds into each accumulator).
TEXT ·dotAVX512(SB), NOSPLIT, $0-56
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VXORPD X8, X8, X8
	MOVQ   CX, BX
	SHRQ   $5, BX
	JZ     dot16

dotloop:
	VMOVUPD     (SI), Z4
	VFMADD231PD (DI), Z4, Z0
	VMOVUPD     64(SI), Z5
	VFMADD231PD 64(DI), Z5, Z1
	VMOVUPD     128(SI), Z6
	VFMADD231PD 128(DI), Z6, Z2
	VMOVUPD     192(SI), Z7
	VFMADD231PD 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	DECQ        BX
	JNZ         dotloop

dot16:
	TESTQ $16, CX
	JZ    dottail
	VMOVUPD     (SI), Z4
	VFMADD231PD (DI), Z4, Z0
	VMOVUPD     64(SI), Z5
	VFMADD231PD 64(DI), Z5, Z1
	ADDQ        $128, SI
	ADDQ        $128, DI

dottail:
	ANDQ $15, CX
	JZ   dotreduce

dottailloop:
	VMOVSD      (SI), X4
	VFMADD231SD (DI), X4, X8
	ADDQ        $8, SI
	ADDQ        $8, DI
	DECQ        CX
	JNZ         dottailloop

dotreduce:
	VADDPD        Z2, Z0, Z0
	VADDPD        Z3, Z1, Z1
	VEXTRACTF64X4 $1, Z0, Y2
	VEXTRACTF64X4 $1, Z1, Y3
	VADDPD        Y2, Y0, Y0
	VADDPD        Y3, Y1, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VHADDPD       X0, X0, X0
	VADDSD        X8, X0, X0
	VZEROUPPER
	MOVSD         X0, ret+48(FP)
	RET

// func axpyAVX512(alpha float64, x, y []float64)
// y[i] += alpha·x[i] over len(x) entries: one fused multiply-add per entry, as axpyAVX2.
TEXT ·axpyAVX512(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Z0
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX
	MOVQ         y_base+32(FP), DI
	MOVQ         CX, BX
	SHRQ         $5, BX
	JZ           axpytail

axpyloop:
	VMOVUPD     (DI), Z1
	VFMADD231PD (SI), Z0, Z1
	VMOVUPD     Z1, (DI)
	VMOVUPD     64(DI), Z2
	VFMADD231PD 64(SI), Z0, Z2
	VMOVUPD     Z2, 64(DI)
	VMOVUPD     128(DI), Z3
	VFMADD231PD 128(SI), Z0, Z3
	VMOVUPD     Z3, 128(DI)
	VMOVUPD     192(DI), Z4
	VFMADD231PD 192(SI), Z0, Z4
	VMOVUPD     Z4, 192(DI)
	ADDQ        $256, SI
	ADDQ        $256, DI
	DECQ        BX
	JNZ         axpyloop

axpytail:
	ANDQ $31, CX
	JZ   axpydone

axpytailloop:
	VMOVSD      (DI), X1
	VFMADD231SD (SI), X0, X1
	VMOVSD      X1, (DI)
	ADDQ        $8, SI
	ADDQ        $8, DI
	DECQ        CX
	JNZ         axpytailloop

axpydone:
	VZEROUPPER
	RET

// func dot32AVX512(x []float32, y []float64) float64
// Σ x[i]·y[i] in float64 (each x[i] converted exactly), four 8-lane accumulators.
TEXT ·dot32AVX512(SB), NOSPLIT, $0-56
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VXORPD X8, X8, X8
	MOVQ   CX, BX
	SHRQ   $5, BX
	JZ     d32tail

d32loop:
	VCVTPS2PD   (SI), Z4
	VFMADD231PD (DI), Z4, Z0
	VCVTPS2PD   32(SI), Z5
	VFMADD231PD 64(DI), Z5, Z1
	VCVTPS2PD   64(SI), Z6
	VFMADD231PD 128(DI), Z6, Z2
	VCVTPS2PD   96(SI), Z7
	VFMADD231PD 192(DI), Z7, Z3
	ADDQ        $128, SI
	ADDQ        $256, DI
	DECQ        BX
	JNZ         d32loop

d32tail:
	ANDQ $31, CX
	JZ   d32reduce

d32tailloop:
	VCVTSS2SD   (SI), X4, X4
	VFMADD231SD (DI), X4, X8
	ADDQ        $4, SI
	ADDQ        $8, DI
	DECQ        CX
	JNZ         d32tailloop

d32reduce:
	VADDPD        Z2, Z0, Z0
	VADDPD        Z3, Z1, Z1
	VADDPD        Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VHADDPD       X0, X0, X0
	VADDSD        X8, X0, X0
	VZEROUPPER
	MOVSD         X0, ret+48(FP)
	RET

// func axpy32AVX512(alpha float64, x []float32, y []float64)
// y[i] += alpha·x[i] in float64 over len(x) entries.
TEXT ·axpy32AVX512(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Z0
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX
	MOVQ         y_base+32(FP), DI
	MOVQ         CX, BX
	SHRQ         $5, BX
	JZ           a32tail

a32loop:
	VCVTPS2PD   (SI), Z5
	VCVTPS2PD   32(SI), Z6
	VCVTPS2PD   64(SI), Z7
	VCVTPS2PD   96(SI), Z8
	VFMADD213PD (DI), Z0, Z5
	VFMADD213PD 64(DI), Z0, Z6
	VFMADD213PD 128(DI), Z0, Z7
	VFMADD213PD 192(DI), Z0, Z8
	VMOVUPD     Z5, (DI)
	VMOVUPD     Z6, 64(DI)
	VMOVUPD     Z7, 128(DI)
	VMOVUPD     Z8, 192(DI)
	ADDQ        $128, SI
	ADDQ        $256, DI
	DECQ        BX
	JNZ         a32loop

a32tail:
	ANDQ $31, CX
	JZ   a32done

a32tailloop:
	VCVTSS2SD   (SI), X1, X1
	VFMADD213SD (DI), X0, X1
	VMOVSD      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $8, DI
	DECQ        CX
	JNZ         a32tailloop

a32done:
	VZEROUPPER
	RET

// func tile3x4AVX512(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64)
// tile3x4AVX2 with 8-lane accumulators; k is a multiple of 8.
TEXT ·tile3x4AVX512(SB), NOSPLIT, $0-48
	MOVQ   x+0(FP), SI
	MOVQ   xstride+8(FP), BX
	SHLQ   $3, BX
	MOVQ   y+16(FP), DI
	MOVQ   ystride+24(FP), DX
	SHLQ   $3, DX
	MOVQ   k+32(FP), CX
	SHRQ   $3, CX
	LEAQ   (SI)(BX*1), R8
	LEAQ   (R8)(BX*1), R9
	LEAQ   (DI)(DX*1), R10
	LEAQ   (R10)(DX*1), R11
	LEAQ   (R11)(DX*1), R12
	XORQ   AX, AX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	TESTQ  CX, CX
	JZ     t512reduce

t512loop:
	VMOVUPD     (SI)(AX*1), Z12
	VMOVUPD     (R8)(AX*1), Z13
	VMOVUPD     (R9)(AX*1), Z14
	VMOVUPD     (DI)(AX*1), Z15
	VFMADD231PD Z15, Z12, Z0
	VFMADD231PD Z15, Z13, Z4
	VFMADD231PD Z15, Z14, Z8
	VMOVUPD     (R10)(AX*1), Z16
	VFMADD231PD Z16, Z12, Z1
	VFMADD231PD Z16, Z13, Z5
	VFMADD231PD Z16, Z14, Z9
	VMOVUPD     (R11)(AX*1), Z17
	VFMADD231PD Z17, Z12, Z2
	VFMADD231PD Z17, Z13, Z6
	VFMADD231PD Z17, Z14, Z10
	VMOVUPD     (R12)(AX*1), Z18
	VFMADD231PD Z18, Z12, Z3
	VFMADD231PD Z18, Z13, Z7
	VFMADD231PD Z18, Z14, Z11
	ADDQ        $64, AX
	DECQ        CX
	JNZ         t512loop

t512reduce:
	// fold each accumulator's upper four lanes onto its lower four, then reduce as
	// tile3x4AVX2 does
	VEXTRACTF64X4 $1, Z0, Y12
	VADDPD        Y12, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y12
	VADDPD        Y12, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y12
	VADDPD        Y12, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y12
	VADDPD        Y12, Y3, Y3
	VEXTRACTF64X4 $1, Z4, Y12
	VADDPD        Y12, Y4, Y4
	VEXTRACTF64X4 $1, Z5, Y12
	VADDPD        Y12, Y5, Y5
	VEXTRACTF64X4 $1, Z6, Y12
	VADDPD        Y12, Y6, Y6
	VEXTRACTF64X4 $1, Z7, Y12
	VADDPD        Y12, Y7, Y7
	VEXTRACTF64X4 $1, Z8, Y12
	VADDPD        Y12, Y8, Y8
	VEXTRACTF64X4 $1, Z9, Y12
	VADDPD        Y12, Y9, Y9
	VEXTRACTF64X4 $1, Z10, Y12
	VADDPD        Y12, Y10, Y10
	VEXTRACTF64X4 $1, Z11, Y12
	VADDPD        Y12, Y11, Y11
	MOVQ          out+40(FP), DI
	VHADDPD       Y1, Y0, Y0
	VHADDPD       Y3, Y2, Y2
	VPERM2F128    $0x21, Y2, Y0, Y1
	VBLENDPD      $0x0C, Y2, Y0, Y3
	VADDPD        Y1, Y3, Y0
	VMOVUPD       Y0, (DI)
	VHADDPD       Y5, Y4, Y4
	VHADDPD       Y7, Y6, Y6
	VPERM2F128    $0x21, Y6, Y4, Y5
	VBLENDPD      $0x0C, Y6, Y4, Y7
	VADDPD        Y5, Y7, Y4
	VMOVUPD       Y4, 32(DI)
	VHADDPD       Y9, Y8, Y8
	VHADDPD       Y11, Y10, Y10
	VPERM2F128    $0x21, Y10, Y8, Y9
	VBLENDPD      $0x0C, Y10, Y8, Y11
	VADDPD        Y9, Y11, Y8
	VMOVUPD       Y8, 64(DI)
	VZEROUPPER
	RET

// func axpy32x4AVX512(c *[4]float64, x *float32, stride int, y []float64)
// y[i] += c[r]·x[r·stride+i] for r = 0, 1, 2, 3 in turn, each a fused multiply-add
// into y: four axpy32AVX512 calls in one pass over y.
TEXT ·axpy32x4AVX512(SB), NOSPLIT, $0-48
	MOVQ         c+0(FP), AX
	VBROADCASTSD (AX), Z0
	VBROADCASTSD 8(AX), Z1
	VBROADCASTSD 16(AX), Z2
	VBROADCASTSD 24(AX), Z3
	MOVQ         x+8(FP), SI
	MOVQ         stride+16(FP), BX
	SHLQ         $2, BX
	LEAQ         (SI)(BX*1), R8
	LEAQ         (R8)(BX*1), R9
	LEAQ         (R9)(BX*1), R10
	MOVQ         y_base+24(FP), DI
	MOVQ         y_len+32(FP), CX
	MOVQ         CX, DX
	SHRQ         $4, DX
	JZ           a4tail

a4loop:
	VMOVUPD     (DI), Z4
	VMOVUPD     64(DI), Z5
	VCVTPS2PD   (SI), Z6
	VCVTPS2PD   32(SI), Z7
	VFMADD231PD Z6, Z0, Z4
	VFMADD231PD Z7, Z0, Z5
	VCVTPS2PD   (R8), Z6
	VCVTPS2PD   32(R8), Z7
	VFMADD231PD Z6, Z1, Z4
	VFMADD231PD Z7, Z1, Z5
	VCVTPS2PD   (R9), Z6
	VCVTPS2PD   32(R9), Z7
	VFMADD231PD Z6, Z2, Z4
	VFMADD231PD Z7, Z2, Z5
	VCVTPS2PD   (R10), Z6
	VCVTPS2PD   32(R10), Z7
	VFMADD231PD Z6, Z3, Z4
	VFMADD231PD Z7, Z3, Z5
	VMOVUPD     Z4, (DI)
	VMOVUPD     Z5, 64(DI)
	ADDQ        $64, SI
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $128, DI
	DECQ        DX
	JNZ         a4loop

a4tail:
	ANDQ $15, CX
	JZ   a4done

a4tailloop:
	VMOVSD      (DI), X4
	VCVTSS2SD   (SI), X6, X6
	VFMADD231SD X6, X0, X4
	VCVTSS2SD   (R8), X6, X6
	VFMADD231SD X6, X1, X4
	VCVTSS2SD   (R9), X6, X6
	VFMADD231SD X6, X2, X4
	VCVTSS2SD   (R10), X6, X6
	VFMADD231SD X6, X3, X4
	VMOVSD      X4, (DI)
	ADDQ        $4, SI
	ADDQ        $4, R8
	ADDQ        $4, R9
	ADDQ        $4, R10
	ADDQ        $8, DI
	DECQ        CX
	JNZ         a4tailloop

a4done:
	VZEROUPPER
	RET
