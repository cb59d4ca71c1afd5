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
