;; The fold at the heart of the streaming calibration (merged-histogram.ts):
;; every value lands in its bin of a fine histogram, adding 1 to the bin's
;; count, the value to its sum and its square to its sum of squares, all in
;; float64. The same arithmetic as the TypeScript loop it stands in for, in the
;; same order, so the moments are bit-identical; it runs about twice as fast
;; (no bounds checks on every access, no deoptimisation).
(module
  ;; the caller's memory: float64 moments (count, Σx, Σx² per bin, interleaved) and float32 values
  (import "env" "memory" (memory 1))
  ;; fold n float32 values at byte offset vp into the bins at byte offset mp: value x goes to bin
  ;; trunc((x - origin) · inv); a bin index outside [0, bins) is skipped (the caller's grid covers
  ;; every finite value), NaN lands in bin 0 as it does in the TypeScript loop
  (func (export "fold") (param $vp i32) (param $n i32) (param $mp i32) (param $bins i32) (param $origin f64) (param $inv f64)
    (local $p i32) (local $end i32) (local $x f64) (local $j i32) (local $a i32)
    (local.set $p (local.get $vp))
    (local.set $end (i32.add (local.get $vp) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (f64.promote_f32 (f32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $j (i32.trunc_sat_f64_s (f64.mul (f64.sub (local.get $x) (local.get $origin)) (local.get $inv))))
        (br_if $next (i32.ge_u (local.get $j) (local.get $bins)))
        (local.set $a (i32.add (local.get $mp) (i32.mul (local.get $j) (i32.const 24))))
        (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64.const 1)))
        (f64.store offset=8 (local.get $a) (f64.add (f64.load offset=8 (local.get $a)) (local.get $x)))
        (f64.store offset=16 (local.get $a) (f64.add (f64.load offset=16 (local.get $a)) (f64.mul (local.get $x) (local.get $x))))
        (br $next))))
)
