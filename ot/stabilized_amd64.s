//go:build !purego

#include "textflag.h"

// Vector constants of kernelRowAVX2, four lanes each: log2e, shift 1.5·2^52, ln2hi, ln2lo,
// expMin, expMax, +Inf, 1023, 1, then d_k = 1/(k+2)! for k = 0…11.
DATA kv<>+0(SB)/8, $0x3ff71547652b82fe
DATA kv<>+8(SB)/8, $0x3ff71547652b82fe
DATA kv<>+16(SB)/8, $0x3ff71547652b82fe
DATA kv<>+24(SB)/8, $0x3ff71547652b82fe
DATA kv<>+32(SB)/8, $0x4338000000000000
DATA kv<>+40(SB)/8, $0x4338000000000000
DATA kv<>+48(SB)/8, $0x4338000000000000
DATA kv<>+56(SB)/8, $0x4338000000000000
DATA kv<>+64(SB)/8, $0x3fe62e42fefa3800
DATA kv<>+72(SB)/8, $0x3fe62e42fefa3800
DATA kv<>+80(SB)/8, $0x3fe62e42fefa3800
DATA kv<>+88(SB)/8, $0x3fe62e42fefa3800
DATA kv<>+96(SB)/8, $0x3d2ef35793c76730
DATA kv<>+104(SB)/8, $0x3d2ef35793c76730
DATA kv<>+112(SB)/8, $0x3d2ef35793c76730
DATA kv<>+120(SB)/8, $0x3d2ef35793c76730
DATA kv<>+128(SB)/8, $0xc086232bdd7abcd2
DATA kv<>+136(SB)/8, $0xc086232bdd7abcd2
DATA kv<>+144(SB)/8, $0xc086232bdd7abcd2
DATA kv<>+152(SB)/8, $0xc086232bdd7abcd2
DATA kv<>+160(SB)/8, $0x40862b7d369a5aa8
DATA kv<>+168(SB)/8, $0x40862b7d369a5aa8
DATA kv<>+176(SB)/8, $0x40862b7d369a5aa8
DATA kv<>+184(SB)/8, $0x40862b7d369a5aa8
DATA kv<>+192(SB)/8, $0x7ff0000000000000
DATA kv<>+200(SB)/8, $0x7ff0000000000000
DATA kv<>+208(SB)/8, $0x7ff0000000000000
DATA kv<>+216(SB)/8, $0x7ff0000000000000
DATA kv<>+224(SB)/8, $0x00000000000003ff
DATA kv<>+232(SB)/8, $0x00000000000003ff
DATA kv<>+240(SB)/8, $0x00000000000003ff
DATA kv<>+248(SB)/8, $0x00000000000003ff
DATA kv<>+256(SB)/8, $0x3ff0000000000000
DATA kv<>+264(SB)/8, $0x3ff0000000000000
DATA kv<>+272(SB)/8, $0x3ff0000000000000
DATA kv<>+280(SB)/8, $0x3ff0000000000000
DATA kv<>+288(SB)/8, $0x3fe0000000000000
DATA kv<>+296(SB)/8, $0x3fe0000000000000
DATA kv<>+304(SB)/8, $0x3fe0000000000000
DATA kv<>+312(SB)/8, $0x3fe0000000000000
DATA kv<>+320(SB)/8, $0x3fc5555555555555
DATA kv<>+328(SB)/8, $0x3fc5555555555555
DATA kv<>+336(SB)/8, $0x3fc5555555555555
DATA kv<>+344(SB)/8, $0x3fc5555555555555
DATA kv<>+352(SB)/8, $0x3fa5555555555555
DATA kv<>+360(SB)/8, $0x3fa5555555555555
DATA kv<>+368(SB)/8, $0x3fa5555555555555
DATA kv<>+376(SB)/8, $0x3fa5555555555555
DATA kv<>+384(SB)/8, $0x3f81111111111111
DATA kv<>+392(SB)/8, $0x3f81111111111111
DATA kv<>+400(SB)/8, $0x3f81111111111111
DATA kv<>+408(SB)/8, $0x3f81111111111111
DATA kv<>+416(SB)/8, $0x3f56c16c16c16c17
DATA kv<>+424(SB)/8, $0x3f56c16c16c16c17
DATA kv<>+432(SB)/8, $0x3f56c16c16c16c17
DATA kv<>+440(SB)/8, $0x3f56c16c16c16c17
DATA kv<>+448(SB)/8, $0x3f2a01a01a01a01a
DATA kv<>+456(SB)/8, $0x3f2a01a01a01a01a
DATA kv<>+464(SB)/8, $0x3f2a01a01a01a01a
DATA kv<>+472(SB)/8, $0x3f2a01a01a01a01a
DATA kv<>+480(SB)/8, $0x3efa01a01a01a01a
DATA kv<>+488(SB)/8, $0x3efa01a01a01a01a
DATA kv<>+496(SB)/8, $0x3efa01a01a01a01a
DATA kv<>+504(SB)/8, $0x3efa01a01a01a01a
DATA kv<>+512(SB)/8, $0x3ec71de3a556c734
DATA kv<>+520(SB)/8, $0x3ec71de3a556c734
DATA kv<>+528(SB)/8, $0x3ec71de3a556c734
DATA kv<>+536(SB)/8, $0x3ec71de3a556c734
DATA kv<>+544(SB)/8, $0x3e927e4fb7789f5c
DATA kv<>+552(SB)/8, $0x3e927e4fb7789f5c
DATA kv<>+560(SB)/8, $0x3e927e4fb7789f5c
DATA kv<>+568(SB)/8, $0x3e927e4fb7789f5c
DATA kv<>+576(SB)/8, $0x3e5ae64567f544e4
DATA kv<>+584(SB)/8, $0x3e5ae64567f544e4
DATA kv<>+592(SB)/8, $0x3e5ae64567f544e4
DATA kv<>+600(SB)/8, $0x3e5ae64567f544e4
DATA kv<>+608(SB)/8, $0x3e21eed8eff8d898
DATA kv<>+616(SB)/8, $0x3e21eed8eff8d898
DATA kv<>+624(SB)/8, $0x3e21eed8eff8d898
DATA kv<>+632(SB)/8, $0x3e21eed8eff8d898
DATA kv<>+640(SB)/8, $0x3de6124613a86d09
DATA kv<>+648(SB)/8, $0x3de6124613a86d09
DATA kv<>+656(SB)/8, $0x3de6124613a86d09
DATA kv<>+664(SB)/8, $0x3de6124613a86d09
GLOBL kv<>(SB), RODATA|NOPTR, $672

// func kernelRowAVX2(dst, c, beta []float64, alpha, inv float64) (nonFinite int)
// dst[j] = exp(x_j), x_j = (alpha + beta[j] − c[j])·inv (the arithmetic of the Go
// expression), for j < len(dst)&^7; returns nonzero when one of those c[j] is NaN or ±Inf.
// The exp is expAVX2's (x = k·ln2 + r, |r| ≤ ln2/2, the Taylor polynomial of degree 13,
// results below expMin flushed to 0, above expMax +Inf, NaN kept), with the polynomial
// evaluated as e^r = 1 + (r + r²·Q(r)), Q by Estrin's scheme: a dependency chain of
// 8 operations instead of Horner's 14, so two vectors of four lanes overlap well.
TEXT ·kernelRowAVX2(SB), NOSPLIT, $0-96
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ c_base+24(FP), DX
	MOVQ beta_base+48(FP), BX
	XORQ R9, R9
	SHRQ $3, CX
	JZ   kdone
	VMOVUPD kv<>+32(SB), Y15

kloop:
	// x = (alpha + beta) − c, times inv
	VBROADCASTSD alpha+72(FP), Y14
	VADDPD       (BX), Y14, Y1
	VADDPD       32(BX), Y14, Y8
	VSUBPD       (DX), Y1, Y1
	VSUBPD       32(DX), Y8, Y8
	VBROADCASTSD inv+80(FP), Y14
	VMULPD       Y14, Y1, Y1
	VMULPD       Y14, Y8, Y8
	// clamp, so that k stays in range; R10 ≠ 0 when a lane of x was outside
	// [expMin, expMax] or NaN (then also check c, which is NaN or ±Inf only then)
	VMAXPD    kv<>+128(SB), Y1, Y3
	VMINPD    kv<>+160(SB), Y3, Y3
	VMAXPD    kv<>+128(SB), Y8, Y10
	VMINPD    kv<>+160(SB), Y10, Y10
	VCMPPD    $4, Y3, Y1, Y4 // NEQ_UQ
	VCMPPD    $4, Y10, Y8, Y11
	VORPD     Y11, Y4, Y4
	VMOVMSKPD Y4, R10
	VMOVAPD   Y3, Y1
	VMOVAPD   Y10, Y8
	// t = x·log2e + shift: k = round(x/ln2) in t's low mantissa bits
	VMOVAPD     Y1, Y0
	VFMADD132PD kv<>+0(SB), Y15, Y0
	VMOVAPD     Y8, Y7
	VFMADD132PD kv<>+0(SB), Y15, Y7
	// r = x − kf·ln2hi − kf·ln2lo
	VSUBPD       Y15, Y0, Y14
	VFNMADD231PD kv<>+64(SB), Y14, Y1
	VFNMADD231PD kv<>+96(SB), Y14, Y1
	VSUBPD       Y15, Y7, Y14
	VFNMADD231PD kv<>+64(SB), Y14, Y8
	VFNMADD231PD kv<>+96(SB), Y14, Y8
	// 2^k = (k + 1023) << 52
	VPADDQ kv<>+224(SB), Y0, Y0
	VPSLLQ $52, Y0, Y0
	VPADDQ kv<>+224(SB), Y7, Y7
	VPSLLQ $52, Y7, Y7
	// r², then the pairs P_i = d_2i + d_2i+1·r
	VMULPD      Y1, Y1, Y2
	VMULPD      Y8, Y8, Y9
	VMOVUPD     kv<>+320(SB), Y3
	VFMADD213PD kv<>+288(SB), Y1, Y3
	VMOVUPD     kv<>+320(SB), Y10
	VFMADD213PD kv<>+288(SB), Y8, Y10
	VMOVUPD     kv<>+384(SB), Y4
	VFMADD213PD kv<>+352(SB), Y1, Y4
	VMOVUPD     kv<>+384(SB), Y11
	VFMADD213PD kv<>+352(SB), Y8, Y11
	VFMADD231PD Y4, Y2, Y3   // T0 = P0 + r²·P1
	VFMADD231PD Y11, Y9, Y10
	VMOVUPD     kv<>+448(SB), Y4
	VFMADD213PD kv<>+416(SB), Y1, Y4
	VMOVUPD     kv<>+448(SB), Y11
	VFMADD213PD kv<>+416(SB), Y8, Y11
	VMOVUPD     kv<>+512(SB), Y5
	VFMADD213PD kv<>+480(SB), Y1, Y5
	VMOVUPD     kv<>+512(SB), Y12
	VFMADD213PD kv<>+480(SB), Y8, Y12
	VFMADD231PD Y5, Y2, Y4   // T1 = P2 + r²·P3
	VFMADD231PD Y12, Y9, Y11
	VMOVUPD     kv<>+576(SB), Y5
	VFMADD213PD kv<>+544(SB), Y1, Y5
	VMOVUPD     kv<>+576(SB), Y12
	VFMADD213PD kv<>+544(SB), Y8, Y12
	VMOVUPD     kv<>+640(SB), Y6
	VFMADD213PD kv<>+608(SB), Y1, Y6
	VMOVUPD     kv<>+640(SB), Y13
	VFMADD213PD kv<>+608(SB), Y8, Y13
	VFMADD231PD Y6, Y2, Y5   // T2 = P4 + r²·P5
	VFMADD231PD Y13, Y9, Y12
	VMULPD      Y2, Y2, Y6   // r⁴
	VMULPD      Y9, Y9, Y13
	VFMADD231PD Y5, Y6, Y4   // T1 + r⁴·T2
	VFMADD231PD Y12, Y13, Y11
	VFMADD231PD Y4, Y6, Y3   // Q = T0 + r⁴·(T1 + r⁴·T2)
	VFMADD231PD Y11, Y13, Y10
	VFMADD231PD Y3, Y2, Y1   // r + r²·Q
	VFMADD231PD Y10, Y9, Y8
	VADDPD      kv<>+256(SB), Y1, Y1
	VADDPD      kv<>+256(SB), Y8, Y8
	VMULPD      Y0, Y1, Y1
	VMULPD      Y7, Y8, Y8
	TESTQ     R10, R10
	JNZ       kspecial

kstore:
	VMOVUPD Y1, (DI)
	VMOVUPD Y8, 32(DI)
	ADDQ    $64, DI
	ADDQ    $64, DX
	ADDQ    $64, BX
	DECQ    CX
	JNZ     kloop
	VZEROUPPER
	JMP     kdone

kspecial:
	// x again (the same operations), then x < expMin → 0, x > expMax → +Inf,
	// NaN → NaN; c − c is NaN exactly when c is NaN or ±Inf.
	VBROADCASTSD alpha+72(FP), Y14
	VADDPD       (BX), Y14, Y3
	VADDPD       32(BX), Y14, Y10
	VSUBPD       (DX), Y3, Y3
	VSUBPD       32(DX), Y10, Y10
	VBROADCASTSD inv+80(FP), Y14
	VMULPD       Y14, Y3, Y3
	VMULPD       Y14, Y10, Y10
	VMOVUPD      (DX), Y4
	VMOVUPD      32(DX), Y11
	VSUBPD       Y4, Y4, Y4
	VSUBPD       Y11, Y11, Y11
	VCMPPD       $3, Y11, Y4, Y4 // unordered
	VMOVMSKPD    Y4, R8
	ORQ          R8, R9
	VCMPPD       $1, kv<>+128(SB), Y3, Y4
	VANDNPD      Y1, Y4, Y1
	VCMPPD       $1, kv<>+128(SB), Y10, Y11
	VANDNPD      Y8, Y11, Y8
	VCMPPD       $14, kv<>+160(SB), Y3, Y4
	VBLENDVPD    Y4, kv<>+192(SB), Y1, Y1
	VCMPPD       $14, kv<>+160(SB), Y10, Y11
	VBLENDVPD    Y11, kv<>+192(SB), Y8, Y8
	VCMPPD       $3, Y3, Y3, Y4
	VBLENDVPD    Y4, Y3, Y1, Y1
	VCMPPD       $3, Y10, Y10, Y11
	VBLENDVPD    Y11, Y10, Y8, Y8
	JMP          kstore

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
