//go:build amd64 && !purego

#include "textflag.h"

// func dotAVX2(x, y []float64) float64
// Σ x[i]·y[i] over len(x) entries (y at least as long), four 4-lane accumulators.
TEXT ·dotAVX2(SB), NOSPLIT, $0-56
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD X8, X8, X8
	MOVQ   CX, BX
	SHRQ   $4, BX
	JZ     dottail

dotloop:
	VMOVUPD     (SI), Y4
	VFMADD231PD (DI), Y4, Y0
	VMOVUPD     32(SI), Y5
	VFMADD231PD 32(DI), Y5, Y1
	VMOVUPD     64(SI), Y6
	VFMADD231PD 64(DI), Y6, Y2
	VMOVUPD     96(SI), Y7
	VFMADD231PD 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        BX
	JNZ         dotloop

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
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VADDSD       X8, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+48(FP)
	RET

// func axpyAVX2(alpha float64, x, y []float64)
// y[i] += alpha·x[i] over len(x) entries.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Y0
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX
	MOVQ         y_base+32(FP), DI
	MOVQ         CX, BX
	SHRQ         $4, BX
	JZ           axpytail

axpyloop:
	VMOVUPD     (DI), Y1
	VFMADD231PD (SI), Y0, Y1
	VMOVUPD     Y1, (DI)
	VMOVUPD     32(DI), Y2
	VFMADD231PD 32(SI), Y0, Y2
	VMOVUPD     Y2, 32(DI)
	VMOVUPD     64(DI), Y3
	VFMADD231PD 64(SI), Y0, Y3
	VMOVUPD     Y3, 64(DI)
	VMOVUPD     96(DI), Y4
	VFMADD231PD 96(SI), Y0, Y4
	VMOVUPD     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        BX
	JNZ         axpyloop

axpytail:
	ANDQ $15, CX
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

// func tile3x4AVX2(x *float64, xstride int, y *float64, ystride int, k int, out *[12]float64)
// out[4r+c] = Σ_{t<k} x[r·xstride+t]·y[c·ystride+t] for r < 3, c < 4; k is a multiple
// of 4. Twelve 4-lane accumulators, the three x vectors and one y vector fill the
// sixteen YMM registers.
TEXT ·tile3x4AVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ xstride+8(FP), BX
	SHLQ $3, BX
	MOVQ y+16(FP), DI
	MOVQ ystride+24(FP), DX
	SHLQ $3, DX
	MOVQ k+32(FP), CX
	SHRQ $2, CX
	LEAQ (SI)(BX*1), R8
	LEAQ (R8)(BX*1), R9
	LEAQ (DI)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	XORQ AX, AX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	TESTQ CX, CX
	JZ    reduce

loop:
	VMOVUPD     (SI)(AX*1), Y12
	VMOVUPD     (R8)(AX*1), Y13
	VMOVUPD     (R9)(AX*1), Y14
	VMOVUPD     (DI)(AX*1), Y15
	VFMADD231PD Y15, Y12, Y0
	VFMADD231PD Y15, Y13, Y4
	VFMADD231PD Y15, Y14, Y8
	VMOVUPD     (R10)(AX*1), Y15
	VFMADD231PD Y15, Y12, Y1
	VFMADD231PD Y15, Y13, Y5
	VFMADD231PD Y15, Y14, Y9
	VMOVUPD     (R11)(AX*1), Y15
	VFMADD231PD Y15, Y12, Y2
	VFMADD231PD Y15, Y13, Y6
	VFMADD231PD Y15, Y14, Y10
	VMOVUPD     (R12)(AX*1), Y15
	VFMADD231PD Y15, Y12, Y3
	VFMADD231PD Y15, Y13, Y7
	VFMADD231PD Y15, Y14, Y11
	ADDQ        $32, AX
	DECQ        CX
	JNZ         loop

reduce:
	MOVQ out+40(FP), DI
	// row r: [Σ acc(4r), Σ acc(4r+1), Σ acc(4r+2), Σ acc(4r+3)]
	VHADDPD    Y1, Y0, Y0
	VHADDPD    Y3, Y2, Y2
	VPERM2F128 $0x21, Y2, Y0, Y1
	VBLENDPD   $0x0C, Y2, Y0, Y3
	VADDPD     Y1, Y3, Y0
	VMOVUPD    Y0, (DI)
	VHADDPD    Y5, Y4, Y4
	VHADDPD    Y7, Y6, Y6
	VPERM2F128 $0x21, Y6, Y4, Y5
	VBLENDPD   $0x0C, Y6, Y4, Y7
	VADDPD     Y5, Y7, Y4
	VMOVUPD    Y4, 32(DI)
	VHADDPD    Y9, Y8, Y8
	VHADDPD    Y11, Y10, Y10
	VPERM2F128 $0x21, Y10, Y8, Y9
	VBLENDPD   $0x0C, Y10, Y8, Y11
	VADDPD     Y9, Y11, Y8
	VMOVUPD    Y8, 64(DI)
	VZEROUPPER
	RET

// func dot32AVX2(x []float32, y []float64) float64
// Σ x[i]·y[i] in float64 (each x[i] converted exactly), four 4-lane accumulators.
TEXT ·dot32AVX2(SB), NOSPLIT, $0-56
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD X8, X8, X8
	MOVQ   CX, BX
	SHRQ   $4, BX
	JZ     d32tail

d32loop:
	VCVTPS2PD   (SI), Y4
	VFMADD231PD (DI), Y4, Y0
	VCVTPS2PD   16(SI), Y5
	VFMADD231PD 32(DI), Y5, Y1
	VCVTPS2PD   32(SI), Y6
	VFMADD231PD 64(DI), Y6, Y2
	VCVTPS2PD   48(SI), Y7
	VFMADD231PD 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	DECQ        BX
	JNZ         d32loop

d32tail:
	ANDQ $15, CX
	JZ   d32reduce

d32tailloop:
	VCVTSS2SD   (SI), X4, X4
	VFMADD231SD (DI), X4, X8
	ADDQ        $4, SI
	ADDQ        $8, DI
	DECQ        CX
	JNZ         d32tailloop

d32reduce:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VADDSD       X8, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+48(FP)
	RET

// func axpy32AVX2(alpha float64, x []float32, y []float64)
// y[i] += alpha·x[i] in float64 over len(x) entries.
TEXT ·axpy32AVX2(SB), NOSPLIT, $0-56
	VBROADCASTSD alpha+0(FP), Y0
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX
	MOVQ         y_base+32(FP), DI
	MOVQ         CX, BX
	SHRQ         $4, BX
	JZ           a32tail

a32loop:
	VCVTPS2PD   (SI), Y5
	VCVTPS2PD   16(SI), Y6
	VCVTPS2PD   32(SI), Y7
	VCVTPS2PD   48(SI), Y8
	VFMADD213PD (DI), Y0, Y5
	VFMADD213PD 32(DI), Y0, Y6
	VFMADD213PD 64(DI), Y0, Y7
	VFMADD213PD 96(DI), Y0, Y8
	VMOVUPD     Y5, (DI)
	VMOVUPD     Y6, 32(DI)
	VMOVUPD     Y7, 64(DI)
	VMOVUPD     Y8, 96(DI)
	ADDQ        $64, SI
	ADDQ        $128, DI
	DECQ        BX
	JNZ         a32loop

a32tail:
	ANDQ $15, CX
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

// func axpy32x4AVX2(c *[4]float64, x *float32, stride int, y []float64)
// y[i] += c[r]·x[r·stride+i] for r = 0, 1, 2, 3 in turn, each a fused multiply-add
// into y: four axpy32AVX2 calls in one pass over y.
TEXT ·axpy32x4AVX2(SB), NOSPLIT, $0-48
	MOVQ         c+0(FP), AX
	VBROADCASTSD (AX), Y0
	VBROADCASTSD 8(AX), Y1
	VBROADCASTSD 16(AX), Y2
	VBROADCASTSD 24(AX), Y3
	MOVQ         x+8(FP), SI
	MOVQ         stride+16(FP), BX
	SHLQ         $2, BX
	LEAQ         (SI)(BX*1), R8
	LEAQ         (R8)(BX*1), R9
	LEAQ         (R9)(BX*1), R10
	MOVQ         y_base+24(FP), DI
	MOVQ         y_len+32(FP), CX
	MOVQ         CX, DX
	SHRQ         $3, DX
	JZ           a4tail

a4loop:
	VMOVUPD     (DI), Y4
	VMOVUPD     32(DI), Y5
	VCVTPS2PD   (SI), Y6
	VCVTPS2PD   16(SI), Y7
	VFMADD231PD Y6, Y0, Y4
	VFMADD231PD Y7, Y0, Y5
	VCVTPS2PD   (R8), Y6
	VCVTPS2PD   16(R8), Y7
	VFMADD231PD Y6, Y1, Y4
	VFMADD231PD Y7, Y1, Y5
	VCVTPS2PD   (R9), Y6
	VCVTPS2PD   16(R9), Y7
	VFMADD231PD Y6, Y2, Y4
	VFMADD231PD Y7, Y2, Y5
	VCVTPS2PD   (R10), Y6
	VCVTPS2PD   16(R10), Y7
	VFMADD231PD Y6, Y3, Y4
	VFMADD231PD Y7, Y3, Y5
	VMOVUPD     Y4, (DI)
	VMOVUPD     Y5, 32(DI)
	ADDQ        $32, SI
	ADDQ        $32, R8
	ADDQ        $32, R9
	ADDQ        $32, R10
	ADDQ        $64, DI
	DECQ        DX
	JNZ         a4loop

a4tail:
	ANDQ $7, CX
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
