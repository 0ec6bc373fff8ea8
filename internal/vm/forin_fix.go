package vm

import lua "github.com/yuin/gopher-lua"

// Instruction fields, as gopher-lua lays them out: the opcode in the top 6
// bits, Bx in the low 18, sBx = Bx - maxSbx.
const (
	bxMask = 1<<18 - 1
	maxSbx = bxMask >> 1
)

func opcode(inst uint32) int { return int(inst >> 26) }
func sbx(inst uint32) int    { return int(inst&bxMask) - maxSbx }

// fixForInLoops mends a bug of gopher-lua v1.1.2's compiler, in proto and
// the functions it defines: in a generic for whose body starts with a jump
// (`for v in pairs(t) do break end`), its jump-to-jump pass reads the
// body's jump, already turned into a distance, as a label, and sends the
// loop's back edge anywhere (a crash or a wrong jump once loops came
// before it). A generic for is a JMP to its TFORLOOP, the body, the
// TFORLOOP and a JMP back: the back JMP must land on the body's first
// instruction, just after the entry JMP (the first JMP to land on the
// TFORLOOP: none from outside the loop can). Every back JMP is set so,
// which changes nothing where gopher-lua got it right but where its pass
// skipped a jump that the body begins with.
func fixForInLoops(proto *lua.FunctionProto) {
	code := proto.Code
	for t := 0; t+1 < len(code); t++ {
		if opcode(code[t]) != lua.OP_TFORLOOP || opcode(code[t+1]) != lua.OP_JMP {
			continue
		}
		for j := 0; j < t; j++ {
			if opcode(code[j]) == lua.OP_JMP && j+1+sbx(code[j]) == t {
				back := j + 1 - (t + 2) // to the body's first instruction
				code[t+1] = code[t+1]&^bxMask | uint32(back+maxSbx)
				break
			}
		}
	}
	for _, p := range proto.FunctionPrototypes {
		fixForInLoops(p)
	}
}
