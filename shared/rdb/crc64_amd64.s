//go:build amd64 && !purego

#include "textflag.h"

// FOLD folds the 128-bit block in X by the constants in K (low: for X's low half, high: for
// its high half), using T as scratch: X = clmul(X.lo, K.lo) ^ clmul(X.hi, K.hi).
#define FOLD(X, K, T) \
	MOVO X, T; \
	PCLMULQDQ $0x00, K, X; \
	PCLMULQDQ $0x11, K, T; \
	PXOR T, X

// func clmulFold(p *byte, n int, crc uint64, k *[4][2]uint64, out *[2]uint64)
TEXT ·clmulFold(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ crc+16(FP), AX
	MOVQ k+24(FP), DX
	MOVQ out+32(FP), DI

	// Four accumulators over 64-byte strides; the running CRC goes into the first 8 bytes.
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVQ AX, X8
	PXOR X8, X0
	ADDQ $64, SI
	SUBQ $64, CX
	MOVOU 0(DX), X10

loop64:
	CMPQ CX, $64
	JB fold4
	FOLD(X0, X10, X4)
	MOVOU 0(SI), X5
	PXOR X5, X0
	FOLD(X1, X10, X6)
	MOVOU 16(SI), X7
	PXOR X7, X1
	FOLD(X2, X10, X4)
	MOVOU 32(SI), X5
	PXOR X5, X2
	FOLD(X3, X10, X6)
	MOVOU 48(SI), X7
	PXOR X7, X3
	ADDQ $64, SI
	SUBQ $64, CX
	JMP loop64

fold4:
	// X0 = X0·x^384 + X1·x^256 + X2·x^128 + X3 (mod P).
	MOVOU 16(DX), X11
	MOVOU 32(DX), X12
	MOVOU 48(DX), X13
	FOLD(X0, X11, X4)
	FOLD(X1, X12, X5)
	FOLD(X2, X13, X6)
	PXOR X1, X0
	PXOR X2, X0
	PXOR X3, X0

loop16:
	CMPQ CX, $16
	JB done
	FOLD(X0, X13, X4)
	MOVOU 0(SI), X5
	PXOR X5, X0
	ADDQ $16, SI
	SUBQ $16, CX
	JMP loop16

done:
	MOVOU X0, 0(DI)
	RET

// func hasCLMUL() bool
TEXT ·hasCLMUL(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	SHRL $1, CX
	ANDL $1, CX
	MOVB CX, ret+0(FP)
	RET
