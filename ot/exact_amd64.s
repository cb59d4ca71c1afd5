//go:build !purego

#include "textflag.h"

// Lane indices of argminDiffAVX2: 0…3, 4…7, the step 8, and −1 (no minimum yet).
DATA amd<>+0(SB)/8, $0
DATA amd<>+8(SB)/8, $1
DATA amd<>+16(SB)/8, $2
DATA amd<>+24(SB)/8, $3
DATA amd<>+32(SB)/8, $4
DATA amd<>+40(SB)/8, $5
DATA amd<>+48(SB)/8, $6
DATA amd<>+56(SB)/8, $7
DATA amd<>+64(SB)/8, $8
DATA amd<>+72(SB)/8, $8
DATA amd<>+80(SB)/8, $8
DATA amd<>+88(SB)/8, $8
DATA amd<>+96(SB)/8, $-1
DATA amd<>+104(SB)/8, $-1
DATA amd<>+112(SB)/8, $-1
DATA amd<>+120(SB)/8, $-1
GLOBL amd<>(SB), RODATA|NOPTR, $128

// func argminDiffAVX2(c, p *float64, n int, thr float64, val *[8]float64, idx *[8]int)
// n is a positive multiple of 8. Lane l of 8 keeps the smallest c[k]−p[k] below thr
// over k ≡ l (mod 8) and the first k reaching it (−1 if none).
TEXT ·argminDiffAVX2(SB), NOSPLIT, $0-48
	MOVQ c+0(FP), AX
	MOVQ p+8(FP), BX
	MOVQ n+16(FP), CX
	VBROADCASTSD thr+24(FP), Y0
	VMOVAPD Y0, Y1
	VMOVDQU amd<>+96(SB), Y2
	VMOVDQU Y2, Y3
	VMOVDQU amd<>+0(SB), Y4
	VMOVDQU amd<>+32(SB), Y5
	VMOVDQU amd<>+64(SB), Y6
	XORQ DX, DX

loop:
	VMOVUPD (AX)(DX*8), Y7
	VSUBPD (BX)(DX*8), Y7, Y7
	VMOVUPD 32(AX)(DX*8), Y8
	VSUBPD 32(BX)(DX*8), Y8, Y8
	VCMPPD $1, Y0, Y7, Y9
	VCMPPD $1, Y1, Y8, Y10
	VBLENDVPD Y9, Y7, Y0, Y0
	VBLENDVPD Y9, Y4, Y2, Y2
	VBLENDVPD Y10, Y8, Y1, Y1
	VBLENDVPD Y10, Y5, Y3, Y3
	VPADDQ Y6, Y4, Y4
	VPADDQ Y6, Y5, Y5
	ADDQ $8, DX
	CMPQ DX, CX
	JLT loop

	MOVQ val+32(FP), AX
	MOVQ idx+40(FP), BX
	VMOVUPD Y0, (AX)
	VMOVUPD Y1, 32(AX)
	VMOVDQU Y2, (BX)
	VMOVDQU Y3, 32(BX)
	VZEROUPPER
	RET

// Lane indices of argminDiff32AVX2 (int32): 0…7, 8…15, the step 16, and −1.
DATA amd32<>+0(SB)/4, $0
DATA amd32<>+4(SB)/4, $1
DATA amd32<>+8(SB)/4, $2
DATA amd32<>+12(SB)/4, $3
DATA amd32<>+16(SB)/4, $4
DATA amd32<>+20(SB)/4, $5
DATA amd32<>+24(SB)/4, $6
DATA amd32<>+28(SB)/4, $7
DATA amd32<>+32(SB)/4, $8
DATA amd32<>+36(SB)/4, $9
DATA amd32<>+40(SB)/4, $10
DATA amd32<>+44(SB)/4, $11
DATA amd32<>+48(SB)/4, $12
DATA amd32<>+52(SB)/4, $13
DATA amd32<>+56(SB)/4, $14
DATA amd32<>+60(SB)/4, $15
DATA amd32<>+64(SB)/4, $16
DATA amd32<>+68(SB)/4, $16
DATA amd32<>+72(SB)/4, $16
DATA amd32<>+76(SB)/4, $16
DATA amd32<>+80(SB)/4, $16
DATA amd32<>+84(SB)/4, $16
DATA amd32<>+88(SB)/4, $16
DATA amd32<>+92(SB)/4, $16
DATA amd32<>+96(SB)/4, $-1
DATA amd32<>+100(SB)/4, $-1
DATA amd32<>+104(SB)/4, $-1
DATA amd32<>+108(SB)/4, $-1
DATA amd32<>+112(SB)/4, $-1
DATA amd32<>+116(SB)/4, $-1
DATA amd32<>+120(SB)/4, $-1
DATA amd32<>+124(SB)/4, $-1
GLOBL amd32<>(SB), RODATA|NOPTR, $128

// func argminDiff32AVX2(c, p *float32, n int, thr float32, val *[16]float32, idx *[16]int32)
// argminDiffAVX2 in float32: n is a positive multiple of 16, sixteen lanes.
TEXT ·argminDiff32AVX2(SB), NOSPLIT, $0-48
	MOVQ c+0(FP), AX
	MOVQ p+8(FP), BX
	MOVQ n+16(FP), CX
	VBROADCASTSS thr+24(FP), Y0
	VMOVAPS Y0, Y1
	VMOVDQU amd32<>+96(SB), Y2
	VMOVDQU Y2, Y3
	VMOVDQU amd32<>+0(SB), Y4
	VMOVDQU amd32<>+32(SB), Y5
	VMOVDQU amd32<>+64(SB), Y6
	XORQ DX, DX

loop32:
	VMOVUPS (AX)(DX*4), Y7
	VSUBPS (BX)(DX*4), Y7, Y7
	VMOVUPS 32(AX)(DX*4), Y8
	VSUBPS 32(BX)(DX*4), Y8, Y8
	VCMPPS $1, Y0, Y7, Y9
	VCMPPS $1, Y1, Y8, Y10
	VBLENDVPS Y9, Y7, Y0, Y0
	VBLENDVPS Y9, Y4, Y2, Y2
	VBLENDVPS Y10, Y8, Y1, Y1
	VBLENDVPS Y10, Y5, Y3, Y3
	VPADDD Y6, Y4, Y4
	VPADDD Y6, Y5, Y5
	ADDQ $16, DX
	CMPQ DX, CX
	JLT loop32

	MOVQ val+32(FP), AX
	MOVQ idx+40(FP), BX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VMOVDQU Y2, (BX)
	VMOVDQU Y3, 32(BX)
	VZEROUPPER
	RET
