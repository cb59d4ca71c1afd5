//go:build !purego

#include "textflag.h"

// The constants of exp_amd64.s (file-local symbols there): 0 log2e, 8 shift 1.5·2^52,
// 16 ln2hi, 24 ln2lo, 32 expMin, 40 expMax, 48 +Inf, 56.. 1/13!, 1/12!, …, 1/2!, 152 1.
DATA kexpConsts<>+0(SB)/8, $0x3ff71547652b82fe
DATA kexpConsts<>+8(SB)/8, $0x4338000000000000
DATA kexpConsts<>+16(SB)/8, $0x3fe62e42fefa3800
DATA kexpConsts<>+24(SB)/8, $0x3d2ef35793c76730
DATA kexpConsts<>+32(SB)/8, $0xc086232bdd7abcd2
DATA kexpConsts<>+40(SB)/8, $0x40862b7d369a5aa8
DATA kexpConsts<>+48(SB)/8, $0x7ff0000000000000
DATA kexpConsts<>+56(SB)/8, $0x3de6124613a86d09
DATA kexpConsts<>+64(SB)/8, $0x3e21eed8eff8d898
DATA kexpConsts<>+72(SB)/8, $0x3e5ae64567f544e4
DATA kexpConsts<>+80(SB)/8, $0x3e927e4fb7789f5c
DATA kexpConsts<>+88(SB)/8, $0x3ec71de3a556c734
DATA kexpConsts<>+96(SB)/8, $0x3efa01a01a01a01a
DATA kexpConsts<>+104(SB)/8, $0x3f2a01a01a01a01a
DATA kexpConsts<>+112(SB)/8, $0x3f56c16c16c16c17
DATA kexpConsts<>+120(SB)/8, $0x3f81111111111111
DATA kexpConsts<>+128(SB)/8, $0x3fa5555555555555
DATA kexpConsts<>+136(SB)/8, $0x3fc5555555555555
DATA kexpConsts<>+144(SB)/8, $0x3fe0000000000000
DATA kexpConsts<>+152(SB)/8, $0x3ff0000000000000
DATA kexpConsts<>+160(SB)/8, $1023
GLOBL kexpConsts<>(SB), RODATA|NOPTR, $168

// func kernelRowAVX2(dst, c, beta []float64, alpha, inv float64) (nonFinite int)
// dst[j] = exp((alpha + beta[j] − c[j])·inv) for j < len(dst)&^7, with the arithmetic
// of the Go expression and the exp of expAVX2 (same bits). Returns nonzero when one of
// those c[j] is NaN or ±Inf.
TEXT ·kernelRowAVX2(SB), NOSPLIT, $0-96
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ c_base+24(FP), DX
	MOVQ beta_base+48(FP), BX
	XORQ R9, R9
	SHRQ $3, CX
	JZ   kdone
	VBROADCASTSD kexpConsts<>+0(SB), Y15  // log2e
	VBROADCASTSD kexpConsts<>+8(SB), Y14  // shift
	VBROADCASTSD kexpConsts<>+16(SB), Y13 // ln2hi
	VBROADCASTSD kexpConsts<>+24(SB), Y12 // ln2lo
	VBROADCASTSD kexpConsts<>+32(SB), Y11 // expMin
	VBROADCASTSD kexpConsts<>+40(SB), Y10 // expMax
	VPBROADCASTQ kexpConsts<>+160(SB), Y9 // 1023

kloop:
	// x = (alpha + beta) − c, times inv
	VBROADCASTSD alpha+72(FP), Y6
	VADDPD       (BX), Y6, Y0
	VADDPD       32(BX), Y6, Y1
	VMOVUPD      (DX), Y2
	VMOVUPD      32(DX), Y3
	VSUBPD       Y2, Y0, Y0
	VSUBPD       Y3, Y1, Y1
	VBROADCASTSD inv+80(FP), Y6
	VMULPD       Y6, Y0, Y0
	VMULPD       Y6, Y1, Y1
	// c − c is NaN exactly when c is NaN or ±Inf
	VSUBPD    Y2, Y2, Y2
	VSUBPD    Y3, Y3, Y3
	VCMPPD    $3, Y3, Y2, Y2 // unordered
	VMOVMSKPD Y2, R8
	ORQ       R8, R9
	// exp, as expAVX2
	VMAXPD       Y11, Y0, Y2
	VMINPD       Y10, Y2, Y2
	VMAXPD       Y11, Y1, Y3
	VMINPD       Y10, Y3, Y3
	VMOVAPD      Y2, Y4
	VFMADD213PD  Y14, Y15, Y4
	VMOVAPD      Y3, Y5
	VFMADD213PD  Y14, Y15, Y5
	VSUBPD       Y14, Y4, Y6
	VSUBPD       Y14, Y5, Y7
	VFNMADD231PD Y13, Y6, Y2
	VFNMADD231PD Y13, Y7, Y3
	VFNMADD231PD Y12, Y6, Y2
	VFNMADD231PD Y12, Y7, Y3
	VPADDQ       Y9, Y4, Y4
	VPSLLQ       $52, Y4, Y4
	VPADDQ       Y9, Y5, Y5
	VPSLLQ       $52, Y5, Y5
	VBROADCASTSD kexpConsts<>+56(SB), Y6
	VMOVAPD      Y6, Y7
	VBROADCASTSD kexpConsts<>+64(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+72(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+80(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+88(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+96(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+104(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+112(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+120(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+128(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+136(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+144(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VBROADCASTSD kexpConsts<>+152(SB), Y8
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VFMADD213PD  Y8, Y2, Y6
	VFMADD213PD  Y8, Y3, Y7
	VMULPD       Y4, Y6, Y6
	VMULPD       Y5, Y7, Y7
	VCMPPD       $1, Y11, Y0, Y2
	VANDNPD      Y6, Y2, Y6
	VCMPPD       $1, Y11, Y1, Y3
	VANDNPD      Y7, Y3, Y7
	VBROADCASTSD kexpConsts<>+48(SB), Y8
	VCMPPD       $14, Y10, Y0, Y2
	VBLENDVPD    Y2, Y8, Y6, Y6
	VCMPPD       $14, Y10, Y1, Y3
	VBLENDVPD    Y3, Y8, Y7, Y7
	VCMPPD       $3, Y0, Y0, Y2
	VBLENDVPD    Y2, Y0, Y6, Y6
	VCMPPD       $3, Y1, Y1, Y3
	VBLENDVPD    Y3, Y1, Y7, Y7
	VMOVUPD      Y6, (DI)
	VMOVUPD      Y7, 32(DI)
	ADDQ         $64, DI
	ADDQ         $64, DX
	ADDQ         $64, BX
	DECQ         CX
	JNZ          kloop
	VZEROUPPER

kdone:
	MOVQ R9, nonFinite+88(FP)
	RET

// func dot3AVX2(x, y, z []float64) float64
// Σ x[i]·y[i]·z[i] over len(x) entries (y, z at least as long).
TEXT ·dot3AVX2(SB), NOSPLIT, $0-80
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y_base+24(FP), DI
	MOVQ   z_base+48(FP), DX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD X8, X8, X8
	MOVQ   CX, BX
	SHRQ   $4, BX
	JZ     d3tail

d3loop:
	VMOVUPD     (SI), Y4
	VMULPD      (DI), Y4, Y4
	VFMADD231PD (DX), Y4, Y0
	VMOVUPD     32(SI), Y5
	VMULPD      32(DI), Y5, Y5
	VFMADD231PD 32(DX), Y5, Y1
	VMOVUPD     64(SI), Y6
	VMULPD      64(DI), Y6, Y6
	VFMADD231PD 64(DX), Y6, Y2
	VMOVUPD     96(SI), Y7
	VMULPD      96(DI), Y7, Y7
	VFMADD231PD 96(DX), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	ADDQ        $128, DX
	DECQ        BX
	JNZ         d3loop

d3tail:
	ANDQ $15, CX
	JZ   d3reduce

d3tailloop:
	VMOVSD      (SI), X4
	VMULSD      (DI), X4, X4
	VFMADD231SD (DX), X4, X8
	ADDQ        $8, SI
	ADDQ        $8, DI
	ADDQ        $8, DX
	DECQ        CX
	JNZ         d3tailloop

d3reduce:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VADDSD       X8, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+72(FP)
	RET

// func dot4AVX2(k *float64, stride int, v []float64, out *[4]float64)
// out[r] = Σ_j k[r·stride + j]·v[j] for the four rows r = 0…3 and j < len(v):
// each load of v serves four rows. Two 4-lane accumulators per row.
TEXT ·dot4AVX2(SB), NOSPLIT, $0-48
	MOVQ   k+0(FP), SI
	MOVQ   stride+8(FP), AX
	SHLQ   $3, AX
	MOVQ   v_base+16(FP), DI
	MOVQ   v_len+24(FP), CX
	MOVQ   out+40(FP), DX
	LEAQ   (SI)(AX*1), R8
	LEAQ   (R8)(AX*1), R9
	LEAQ   (R9)(AX*1), R10
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15
	MOVQ   CX, BX
	SHRQ   $3, BX
	JZ     d4tail

d4loop:
	VMOVUPD     (DI), Y8
	VMOVUPD     32(DI), Y9
	VFMADD231PD (SI), Y8, Y0
	VFMADD231PD 32(SI), Y9, Y1
	VFMADD231PD (R8), Y8, Y2
	VFMADD231PD 32(R8), Y9, Y3
	VFMADD231PD (R9), Y8, Y4
	VFMADD231PD 32(R9), Y9, Y5
	VFMADD231PD (R10), Y8, Y6
	VFMADD231PD 32(R10), Y9, Y7
	ADDQ        $64, DI
	ADDQ        $64, SI
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	DECQ        BX
	JNZ         d4loop

d4tail:
	ANDQ $7, CX
	JZ   d4reduce

d4tailloop:
	VMOVSD      (DI), X8
	VFMADD231SD (SI), X8, X12
	VFMADD231SD (R8), X8, X13
	VFMADD231SD (R9), X8, X14
	VFMADD231SD (R10), X8, X15
	ADDQ        $8, DI
	ADDQ        $8, SI
	ADDQ        $8, R8
	ADDQ        $8, R9
	ADDQ        $8, R10
	DECQ        CX
	JNZ         d4tailloop

d4reduce:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VADDSD       X12, X0, X0
	MOVSD        X0, 0(DX)
	VADDPD       Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPD       X3, X2, X2
	VHADDPD      X2, X2, X2
	VADDSD       X13, X2, X2
	MOVSD        X2, 8(DX)
	VADDPD       Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD       X5, X4, X4
	VHADDPD      X4, X4, X4
	VADDSD       X14, X4, X4
	MOVSD        X4, 16(DX)
	VADDPD       Y7, Y6, Y6
	VEXTRACTF128 $1, Y6, X7
	VADDPD       X7, X6, X6
	VHADDPD      X6, X6, X6
	VADDSD       X15, X6, X6
	MOVSD        X6, 24(DX)
	VZEROUPPER
	RET

// func axpy4AVX2(k *float64, stride int, x *[4]float64, acc []float64)
// acc[j] += x[0]·k[j] + x[1]·k[stride+j] + x[2]·k[2·stride+j] + x[3]·k[3·stride+j],
// as four fused multiply-adds in row order (the bits of four axpy calls), j < len(acc):
// each load and store of acc serves four rows.
TEXT ·axpy4AVX2(SB), NOSPLIT, $0-48
	MOVQ         k+0(FP), SI
	MOVQ         stride+8(FP), AX
	SHLQ         $3, AX
	MOVQ         x+16(FP), DX
	MOVQ         acc_base+24(FP), DI
	MOVQ         acc_len+32(FP), CX
	LEAQ         (SI)(AX*1), R8
	LEAQ         (R8)(AX*1), R9
	LEAQ         (R9)(AX*1), R10
	VBROADCASTSD 0(DX), Y12
	VBROADCASTSD 8(DX), Y13
	VBROADCASTSD 16(DX), Y14
	VBROADCASTSD 24(DX), Y15
	MOVQ         CX, BX
	SHRQ         $4, BX
	JZ           a4tail

a4loop:
	VMOVUPD     (DI), Y0
	VMOVUPD     32(DI), Y1
	VMOVUPD     64(DI), Y2
	VMOVUPD     96(DI), Y3
	VFMADD231PD (SI), Y12, Y0
	VFMADD231PD 32(SI), Y12, Y1
	VFMADD231PD 64(SI), Y12, Y2
	VFMADD231PD 96(SI), Y12, Y3
	VFMADD231PD (R8), Y13, Y0
	VFMADD231PD 32(R8), Y13, Y1
	VFMADD231PD 64(R8), Y13, Y2
	VFMADD231PD 96(R8), Y13, Y3
	VFMADD231PD (R9), Y14, Y0
	VFMADD231PD 32(R9), Y14, Y1
	VFMADD231PD 64(R9), Y14, Y2
	VFMADD231PD 96(R9), Y14, Y3
	VFMADD231PD (R10), Y15, Y0
	VFMADD231PD 32(R10), Y15, Y1
	VFMADD231PD 64(R10), Y15, Y2
	VFMADD231PD 96(R10), Y15, Y3
	VMOVUPD     Y0, (DI)
	VMOVUPD     Y1, 32(DI)
	VMOVUPD     Y2, 64(DI)
	VMOVUPD     Y3, 96(DI)
	ADDQ        $128, DI
	ADDQ        $128, SI
	ADDQ        $128, R8
	ADDQ        $128, R9
	ADDQ        $128, R10
	DECQ        BX
	JNZ         a4loop

a4tail:
	ANDQ $15, CX
	JZ   a4done

a4tailloop:
	VMOVSD      (DI), X0
	VFMADD231SD (SI), X12, X0
	VFMADD231SD (R8), X13, X0
	VFMADD231SD (R9), X14, X0
	VFMADD231SD (R10), X15, X0
	VMOVSD      X0, (DI)
	ADDQ        $8, DI
	ADDQ        $8, SI
	ADDQ        $8, R8
	ADDQ        $8, R9
	ADDQ        $8, R10
	DECQ        CX
	JNZ         a4tailloop

a4done:
	VZEROUPPER
	RET
