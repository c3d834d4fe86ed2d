// Package pickle converts between Python pickles and gorpyc's Go value model, for the classic
// mode's obtain (remote object → Go value) and deliver (Go value → remote object).
//
// Reading goes through github.com/nlpodyssey/gopickle, after [Scan] has checked the stream's
// framing (every declared length fits in the data, every opcode is known), so that a hostile
// pickle cannot make gopickle allocate more than the input's size. gopickle's own types are then
// converted to the value model below. Writing is done here: gopickle only reads.
//
// # Value model
//
//	Python                     Go (Loads result)                  Dumps also accepts
//	None                       nil                                nil pointers, nil interfaces
//	bool                       bool
//	int                        int64; *big.Int beyond int64       every Go integer type
//	float                      float64                            float32
//	complex                    complex128                         complex64
//	str                        string                             (must be valid UTF-8)
//	bytes                      []byte
//	bytearray                  ByteArray
//	tuple                      brine.Tuple
//	list                       []any                              any other Go slice or array
//	dict, OrderedDict,         Dict (ordered key/value items)     Go maps (keys sorted), structs
//	  defaultdict                                                   (field names via FieldName)
//	set                        Set                                (members must be hashable)
//	frozenset                  brine.FrozenSet
//	slice                      brine.Slice
//	Ellipsis, NotImplemented   brine.Singleton
//	datetime.datetime          time.Time (naive: location Naive)
//	datetime.date              Date
//	datetime.time              TimeOfDay
//	datetime.timedelta         time.Duration
//	datetime.timezone          *time.Location (fixed offset; UTC as time.UTC)
//	zoneinfo.ZoneInfo          *time.Location (time.LoadLocation)
//	decimal.Decimal            Decimal
//
// Sets and frozensets come back sorted (numbers, then strings, then bytes, then anything else),
// so that the result does not depend on Python's hash order. Anything else in the pickle —
// instances of other classes, classes, functions, range objects — makes [Loads] fail with an
// error wrapping [ErrUnsupported] that names the Python class. Recursive structures (a list that
// contains itself) fail with [ErrRecursive]; shared sub-objects are converted once and shared.
//
// [Dumps] writes protocol 4 (readable by Python 3.4 and later) without frames or memo entries,
// which the format allows. Times are truncated to Python's microsecond resolution; a time.Time
// whose location is time.UTC becomes an aware datetime in datetime.timezone.utc, another
// location becomes datetime.timezone with that instant's offset (and the zone's abbreviation as
// its name), and the location [Naive] gives a naive datetime.
package pickle
