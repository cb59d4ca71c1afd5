//go:build !purego

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
