package pickle

// Opcodes of the pickle protocol (Python's pickle.py and pickletools spell them the same way).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'

	// Protocol 2.
	opProto    = 0x80
	opNewObj   = 0x81
	opExt1     = 0x82
	opExt2     = 0x83
	opExt4     = 0x84
	opTuple1   = 0x85
	opTuple2   = 0x86
	opTuple3   = 0x87
	opNewTrue  = 0x88
	opNewFalse = 0x89
	opLong1    = 0x8a
	opLong4    = 0x8b

	// Protocol 3.
	opBinBytes      = 'B'
	opShortBinBytes = 'C'

	// Protocol 4.
	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95

	// Protocol 5.
	opByteArray8     = 0x96
	opNextBuffer     = 0x97
	opReadOnlyBuffer = 0x98
)

// Protocol is the pickle protocol [Dumps] writes and the one the classic client asks Python for.
const Protocol = 4

// HighestProtocol is the highest protocol [Loads] reads.
const HighestProtocol = 5

// argKind is the shape of an opcode's inline argument, as pickletools describes it.
type argKind uint8

const (
	argNone     argKind = iota
	argFixed            // n bytes
	argLine             // up to and including '\n'
	argTwoLines         // two such lines (GLOBAL, INST)
	argLen1             // 1-byte length, then data
	argLen4             // 4-byte little-endian length, then data
	argLen8             // 8-byte little-endian length, then data
)

type opInfo struct {
	name  string
	kind  argKind
	fixed int // for argFixed
}

// opTable describes every opcode a pickle may contain; a zero entry is an unknown opcode.
var opTable = func() (t [256]opInfo) {
	none := func(op byte, name string) { t[op] = opInfo{name: name, kind: argNone} }
	fixed := func(op byte, name string, n int) { t[op] = opInfo{name: name, kind: argFixed, fixed: n} }
	other := func(op byte, name string, k argKind) { t[op] = opInfo{name: name, kind: k} }
	for op, name := range map[byte]string{
		opMark: "MARK", opStop: "STOP", opPop: "POP", opPopMark: "POP_MARK", opDup: "DUP",
		opNone: "NONE", opBinPersID: "BINPERSID", opReduce: "REDUCE", opAppend: "APPEND",
		opBuild: "BUILD", opDict: "DICT", opEmptyDict: "EMPTY_DICT", opAppends: "APPENDS",
		opList: "LIST", opEmptyList: "EMPTY_LIST", opObj: "OBJ", opSetItem: "SETITEM",
		opTuple: "TUPLE", opEmptyTuple: "EMPTY_TUPLE", opSetItems: "SETITEMS",
		opNewObj: "NEWOBJ", opTuple1: "TUPLE1", opTuple2: "TUPLE2", opTuple3: "TUPLE3",
		opNewTrue: "NEWTRUE", opNewFalse: "NEWFALSE", opEmptySet: "EMPTY_SET",
		opAddItems: "ADDITEMS", opFrozenSet: "FROZENSET", opNewObjEx: "NEWOBJ_EX",
		opStackGlobal: "STACK_GLOBAL", opMemoize: "MEMOIZE", opNextBuffer: "NEXT_BUFFER",
		opReadOnlyBuffer: "READONLY_BUFFER",
	} {
		none(op, name)
	}
	fixed(opBinInt1, "BININT1", 1)
	fixed(opBinGet, "BINGET", 1)
	fixed(opBinPut, "BINPUT", 1)
	fixed(opProto, "PROTO", 1)
	fixed(opExt1, "EXT1", 1)
	fixed(opBinInt2, "BININT2", 2)
	fixed(opExt2, "EXT2", 2)
	fixed(opBinInt, "BININT", 4)
	fixed(opLongBinGet, "LONG_BINGET", 4)
	fixed(opLongBinPut, "LONG_BINPUT", 4)
	fixed(opExt4, "EXT4", 4)
	fixed(opBinFloat, "BINFLOAT", 8)
	fixed(opFrame, "FRAME", 8)
	for op, name := range map[byte]string{opFloat: "FLOAT", opInt: "INT", opLong: "LONG",
		opString: "STRING", opUnicode: "UNICODE", opGet: "GET", opPut: "PUT", opPersID: "PERSID"} {
		other(op, name, argLine)
	}
	other(opGlobal, "GLOBAL", argTwoLines)
	other(opInst, "INST", argTwoLines)
	other(opShortBinString, "SHORT_BINSTRING", argLen1)
	other(opShortBinBytes, "SHORT_BINBYTES", argLen1)
	other(opShortBinUnicode, "SHORT_BINUNICODE", argLen1)
	other(opLong1, "LONG1", argLen1)
	other(opBinString, "BINSTRING", argLen4)
	other(opBinBytes, "BINBYTES", argLen4)
	other(opBinUnicode, "BINUNICODE", argLen4)
	other(opLong4, "LONG4", argLen4)
	other(opBinUnicode8, "BINUNICODE8", argLen8)
	other(opBinBytes8, "BINBYTES8", argLen8)
	other(opByteArray8, "BYTEARRAY8", argLen8)
	return t
}()
