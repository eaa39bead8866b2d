;; How many of two runs of 8-bit codes differ by more than one step, 16 codes at a time: the saturation check
;; (saturation.ts) compares every output code of every layer of a few samples (tens of millions of codes on a
;; real-size model), where a JavaScript loop costs a few nanoseconds a code.
;;
;; Compiled into codes-kernel.wasm.ts by `npm run build:wasm`; edit this file, then run that.
;;
;; Memory (fixed, 192 KB): one chunk of the codes got at 0, one of the codes wanted at 65536. The caller copies
;; the codes in chunks of at most 65536 and pads each chunk to a multiple of 16 with codes that agree.
(module
  (memory (export "memory") 3)
  (global (export "gotPtr") i32 (i32.const 0))
  (global (export "wantPtr") i32 (i32.const 65536))
  (global (export "chunk") i32 (i32.const 65536))

  ;; codes i < n (n a multiple of 16) where |got − want| > 1; `signed`: the codes are int8 (they are compared as
  ;; uint8 after flipping the sign bit of both, which keeps every difference)
  (func (export "apart") (param $n i32) (param $signed i32) (result i32)
    (local $i i32) (local $total i32) (local $flip v128) (local $a v128) (local $b v128)
    (local.set $flip (select (v128.const i8x16 128 128 128 128 128 128 128 128 128 128 128 128 128 128 128 128)
      (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0) (local.get $signed)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (v128.xor (v128.load offset=0 (local.get $i)) (local.get $flip)))
        (local.set $b (v128.xor (v128.load offset=65536 (local.get $i)) (local.get $flip)))
        ;; a − b and b − a saturate at 0 below, so one of them is the distance; more than 1 is counted
        (local.set $total (i32.add (local.get $total) (i32.popcnt (i8x16.bitmask
          (v128.or
            (i8x16.gt_u (i8x16.sub_sat_u (local.get $a) (local.get $b)) (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1))
            (i8x16.gt_u (i8x16.sub_sat_u (local.get $b) (local.get $a)) (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next)))
    (local.get $total))
)
