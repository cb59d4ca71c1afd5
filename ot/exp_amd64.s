//go:build !purego

#include "textflag.h"

// Constants: 0 log2e, 8 shift 1.5·2^52, 16 ln2hi, 24 ln2lo, 32 expMin, 40 expMax, 48 +Inf,
// 56.. the Taylor coefficients 1/13!, 1/12!, …, 1/2!.
DATA expConsts<>+0(SB)/8, $0x3ff71547652b82fe
DATA expConsts<>+8(SB)/8, $0x4338000000000000
DATA expConsts<>+16(SB)/8, $0x3fe62e42fefa3800
DATA expConsts<>+24(SB)/8, $0x3d2ef35793c76730
DATA expConsts<>+32(SB)/8, $0xc086232bdd7abcd2
DATA expConsts<>+40(SB)/8, $0x40862b7d369a5aa8
DATA expConsts<>+48(SB)/8, $0x7ff0000000000000
DATA expConsts<>+56(SB)/8, $0x3de6124613a86d09
DATA expConsts<>+64(SB)/8, $0x3e21eed8eff8d898
DATA expConsts<>+72(SB)/8, $0x3e5ae64567f544e4
DATA expConsts<>+80(SB)/8, $0x3e927e4fb7789f5c
DATA expConsts<>+88(SB)/8, $0x3ec71de3a556c734
DATA expConsts<>+96(SB)/8, $0x3efa01a01a01a01a
DATA expConsts<>+104(SB)/8, $0x3f2a01a01a01a01a
DATA expConsts<>+112(SB)/8, $0x3f56c16c16c16c17
DATA expConsts<>+120(SB)/8, $0x3f81111111111111
DATA expConsts<>+128(SB)/8, $0x3fa5555555555555
DATA expConsts<>+136(SB)/8, $0x3fc5555555555555
DATA expConsts<>+144(SB)/8, $0x3fe0000000000000
GLOBL expConsts<>(SB), RODATA|NOPTR, $152

DATA expBias<>+0(SB)/8, $1023
GLOBL expBias<>(SB), RODATA|NOPTR, $8

// func expAVX2(v []float64)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ v_base+0(FP), SI
	MOVQ v_len+8(FP), CX
	SHRQ $3, CX
	JZ   done
	VBROADCASTSD expConsts<>+0(SB), Y15  // log2e
	VBROADCASTSD expConsts<>+8(SB), Y14  // shift
	VBROADCASTSD expConsts<>+16(SB), Y13 // ln2hi
	VBROADCASTSD expConsts<>+24(SB), Y12 // ln2lo
	VBROADCASTSD expConsts<>+32(SB), Y11 // expMin
	VBROADCASTSD expConsts<>+40(SB), Y10 // expMax
	VPBROADCASTQ expBias<>+0(SB), Y9     // 1023

loop:
	VMOVUPD (SI), Y0     // x, lanes 0–3
	VMOVUPD 32(SI), Y1   // x, lanes 4–7
	// Clamp so that k stays in range; out-of-range lanes are fixed at the end.
	VMAXPD Y11, Y0, Y2
	VMINPD Y10, Y2, Y2
	VMAXPD Y11, Y1, Y3
	VMINPD Y10, Y3, Y3
	// t = x·log2e + shift: k = round(x/ln2) sits in t's low mantissa bits.
	VMOVAPD Y2, Y4
	VFMADD213PD Y14, Y15, Y4
	VMOVAPD Y3, Y5
	VFMADD213PD Y14, Y15, Y5
	VSUBPD Y14, Y4, Y6 // kf
	VSUBPD Y14, Y5, Y7
	// r = x − kf·ln2hi − kf·ln2lo (fused, so the first product is exact)
	VFNMADD231PD Y13, Y6, Y2
	VFNMADD231PD Y13, Y7, Y3
	VFNMADD231PD Y12, Y6, Y2
	VFNMADD231PD Y12, Y7, Y3
	// 2^k = (k + 1023) << 52, from the integer bits of t
	VPADDQ Y9, Y4, Y4
	VPSLLQ $52, Y4, Y4
	VPADDQ Y9, Y5, Y5
	VPSLLQ $52, Y5, Y5
	// p = Horner(r) with coefficients 1/13! … 1/2!, then p·r + 1, p·r + 1
	VBROADCASTSD expConsts<>+56(SB), Y6
	VMOVAPD Y6, Y7
	VBROADCASTSD expConsts<>+64(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+72(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+80(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+88(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+96(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+104(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+112(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+120(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+128(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+136(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD expConsts<>+144(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VBROADCASTSD one<>+0(SB), Y8
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VFMADD213PD Y8, Y2, Y6
	VFMADD213PD Y8, Y3, Y7
	VMULPD Y4, Y6, Y6
	VMULPD Y5, Y7, Y7
	// x < expMin → 0; x > expMax → +Inf; NaN → NaN (x itself)
	VCMPPD $1, Y11, Y0, Y2 // x < expMin (LT_OS)
	VANDNPD Y6, Y2, Y6
	VCMPPD $1, Y11, Y1, Y3
	VANDNPD Y7, Y3, Y7
	VBROADCASTSD expConsts<>+48(SB), Y8
	VCMPPD $14, Y10, Y0, Y2 // x > expMax (GT_OS)
	VBLENDVPD Y2, Y8, Y6, Y6
	VCMPPD $14, Y10, Y1, Y3
	VBLENDVPD Y3, Y8, Y7, Y7
	VCMPPD $3, Y0, Y0, Y2 // unordered: NaN
	VBLENDVPD Y2, Y0, Y6, Y6
	VCMPPD $3, Y1, Y1, Y3
	VBLENDVPD Y3, Y1, Y7, Y7
	VMOVUPD Y6, (SI)
	VMOVUPD Y7, 32(SI)
	ADDQ $64, SI
	DECQ CX
	JNZ  loop
	VZEROUPPER

done:
	RET

DATA one<>+0(SB)/8, $0x3ff0000000000000
GLOBL one<>(SB), RODATA|NOPTR, $8
