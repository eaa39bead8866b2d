;; The tensor comparison metrics of spec §7 over float32 data, two values at a time (f64x2 lanes, float32
;; promoted to float64), without branches in the loops: the same two passes as the element-by-element
;; definition in metrics-scalar.ts, which the tests hold this kernel to.
;;
;; Compiled into metrics-kernel.wasm.ts by `npm run build:wasm`; edit this file, then run that.
;;
;; Memory (fixed, never grown, 320 KB): the running state at 0, constants at 512, one chunk of x (quantized
;; side) at 1024 and one of y (float side) at 1024 + 4·32768, pass2's scratch at 1024 + 8·32768 (16 KB).
;; The caller copies a tensor in chunks of at most 32768 values, calls pass1 on every chunk, then pass2 on
;; every chunk with the first pass's results.
;;
;; State, two f64 lanes per v128, each lane a partial result (the caller combines the lanes):
;;   pass1 at 0:   dot xx yy dd sumAbs maxAbs sumRel maxRel sx sy xMin xMax yMin yMax   (14 × 16 bytes)
;;   pass2 at 256: vx vy P D E A Q cP cQ cA                                              (10 × 16 bytes)
;; The caller sets the initial values (sums 0, maxima 0, xMin/yMin +Infinity, xMax/yMax -Infinity).
;;
;; An odd chunk's last value is loaded into both lanes: its second copy is neutral for the minima and
;; maxima, and a lane mask zeroes its contributions to the sums.
(module
  (memory (export "memory") 5)
  (global (export "xPtr") i32 (i32.const 1024))
  (global (export "yPtr") i32 (i32.const 132096))
  (global (export "chunk") i32 (i32.const 32768))

  ;; The constants, stored at 512 by each pass before its loop and loaded from there in it: V8 builds a
  ;; v128.const anew (three instructions) at every use, even from a local.
  (func $constants
    (v128.store offset=512 (i32.const 0) (v128.const f64x2 1 1))
    (v128.store offset=528 (i32.const 0) (v128.const f64x2 2.22e-16 2.22e-16)) ;; EPS
    (v128.store offset=544 (i32.const 0) (v128.const f64x2 1.1920929e-7 1.1920929e-7)) ;; KL_FLOOR
    (v128.store offset=560 (i32.const 0) (v128.const f64x2 1.4142135623730951 1.4142135623730951))
    (v128.store offset=576 (i32.const 0) (v128.const i64x2 0x4330000000000000 0x4330000000000000)) ;; 2^52 as bits
    (v128.store offset=592 (i32.const 0) (v128.const f64x2 4503599627371519 4503599627371519)) ;; 2^52 + 1023
    (v128.store offset=608 (i32.const 0) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)) ;; ln 2 in two parts (fdlibm's): k·ln2hi is exact for |k| < 2^20
    (v128.store offset=624 (i32.const 0) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))
    (v128.store offset=640 (i32.const 0) (v128.const f64x2 6.666666666666735130e-01 6.666666666666735130e-01)) ;; fdlibm's log polynomial: 2s + s·R(s²) = ln((1 + s)/(1 − s)) within 2^-58.45 for |s| < 0.1716
    (v128.store offset=656 (i32.const 0) (v128.const f64x2 3.999999999940941908e-01 3.999999999940941908e-01))
    (v128.store offset=672 (i32.const 0) (v128.const f64x2 2.857142874366239149e-01 2.857142874366239149e-01))
    (v128.store offset=688 (i32.const 0) (v128.const f64x2 2.222219843214978396e-01 2.222219843214978396e-01))
    (v128.store offset=704 (i32.const 0) (v128.const f64x2 1.818357216161805012e-01 1.818357216161805012e-01))
    (v128.store offset=720 (i32.const 0) (v128.const f64x2 1.531383769920937332e-01 1.531383769920937332e-01))
    (v128.store offset=736 (i32.const 0) (v128.const f64x2 1.479819860511658591e-01 1.479819860511658591e-01)))

  ;; A Relu applied in place to the n values at ptr (a chunk of x or y), for a tensor the comparison derives
  ;; from its input instead of fetching it (derived-tensors.ts): v < 0 ? 0 : v, which keeps NaN and −0 as
  ;; onnxruntime's Relu does. Whole vectors: the chunk's room is a multiple of 4 values, and what lies past n is
  ;; never read.
  (func (export "relu") (param $ptr i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $ptr) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $v (v128.load (local.get $ptr)))
        (v128.store (local.get $ptr) (v128.andnot (local.get $v) (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br $next))))

  ;; sums, maxima and minima of one chunk of n values, added to the state at 0
  (func (export "pass1") (param $n i32)
    (local $i i32) (local $at i32)
    (local $a v128) (local $b v128) (local $am v128) (local $bm v128) (local $mask v128)
    (local $d v128) (local $ad v128) (local $r v128)
    (local $dot v128) (local $xx v128) (local $yy v128) (local $dd v128)
    (local $sumAbs v128) (local $maxAbs v128) (local $sumRel v128) (local $maxRel v128)
    (local $sx v128) (local $sy v128) (local $xMin v128) (local $xMax v128) (local $yMin v128) (local $yMax v128)
    (local.set $dot (v128.load offset=0 (i32.const 0)))
    (local.set $xx (v128.load offset=16 (i32.const 0)))
    (local.set $yy (v128.load offset=32 (i32.const 0)))
    (local.set $dd (v128.load offset=48 (i32.const 0)))
    (local.set $sumAbs (v128.load offset=64 (i32.const 0)))
    (local.set $maxAbs (v128.load offset=80 (i32.const 0)))
    (local.set $sumRel (v128.load offset=96 (i32.const 0)))
    (local.set $maxRel (v128.load offset=112 (i32.const 0)))
    (local.set $sx (v128.load offset=128 (i32.const 0)))
    (local.set $sy (v128.load offset=144 (i32.const 0)))
    (local.set $xMin (v128.load offset=160 (i32.const 0)))
    (local.set $xMax (v128.load offset=176 (i32.const 0)))
    (local.set $yMin (v128.load offset=192 (i32.const 0)))
    (local.set $yMax (v128.load offset=208 (i32.const 0)))
    (call $constants)
    (local.set $mask (v128.const i64x2 -1 -1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
          (then
            (local.set $a (f64x2.promote_low_f32x4 (v128.load64_zero offset=1024 (local.get $at))))
            (local.set $b (f64x2.promote_low_f32x4 (v128.load64_zero offset=132096 (local.get $at)))))
          (else
            (local.set $a (f64x2.promote_low_f32x4 (v128.load32_splat offset=1024 (local.get $at))))
            (local.set $b (f64x2.promote_low_f32x4 (v128.load32_splat offset=132096 (local.get $at))))
            (local.set $mask (v128.const i64x2 -1 0))))
        ;; the sums see the masked values (the duplicate lane as x = y = 0: no contribution anywhere)
        (local.set $am (v128.and (local.get $a) (local.get $mask)))
        (local.set $bm (v128.and (local.get $b) (local.get $mask)))
        (local.set $d (f64x2.sub (local.get $am) (local.get $bm)))
        (local.set $ad (f64x2.abs (local.get $d)))
        (local.set $dot (f64x2.add (local.get $dot) (f64x2.mul (local.get $am) (local.get $bm))))
        (local.set $xx (f64x2.add (local.get $xx) (f64x2.mul (local.get $am) (local.get $am))))
        (local.set $yy (f64x2.add (local.get $yy) (f64x2.mul (local.get $bm) (local.get $bm))))
        (local.set $dd (f64x2.add (local.get $dd) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $sumAbs (f64x2.add (local.get $sumAbs) (local.get $ad)))
        ;; pmax(m, v) is "v > m ? v : m" (one instruction): a NaN never replaces the running maximum, as in the
        ;; definition's "if (v > m) m = v"; pmin likewise
        (local.set $maxAbs (f64x2.pmax (local.get $maxAbs) (local.get $ad)))
        ;; relative error |x/y − 1| where |y| > EPS (2.22e-16), 0 elsewhere (below every maximum: they start at 0)
        (local.set $r (v128.and
          (f64x2.abs (f64x2.sub (f64x2.div (local.get $am) (local.get $bm)) (v128.load offset=512 (i32.const 0))))
          (f64x2.gt (f64x2.abs (local.get $bm)) (v128.load offset=528 (i32.const 0)))))
        (local.set $sumRel (f64x2.add (local.get $sumRel) (local.get $r)))
        (local.set $maxRel (f64x2.pmax (local.get $maxRel) (local.get $r)))
        (local.set $sx (f64x2.add (local.get $sx) (local.get $am)))
        (local.set $sy (f64x2.add (local.get $sy) (local.get $bm)))
        ;; the extremes see the unmasked values (the duplicate is neutral there)
        (local.set $xMin (f64x2.pmin (local.get $xMin) (local.get $a)))
        (local.set $xMax (f64x2.pmax (local.get $xMax) (local.get $a)))
        (local.set $yMin (f64x2.pmin (local.get $yMin) (local.get $b)))
        (local.set $yMax (f64x2.pmax (local.get $yMax) (local.get $b)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $next)))
    (v128.store offset=0 (i32.const 0) (local.get $dot))
    (v128.store offset=16 (i32.const 0) (local.get $xx))
    (v128.store offset=32 (i32.const 0) (local.get $yy))
    (v128.store offset=48 (i32.const 0) (local.get $dd))
    (v128.store offset=64 (i32.const 0) (local.get $sumAbs))
    (v128.store offset=80 (i32.const 0) (local.get $maxAbs))
    (v128.store offset=96 (i32.const 0) (local.get $sumRel))
    (v128.store offset=112 (i32.const 0) (local.get $maxRel))
    (v128.store offset=128 (i32.const 0) (local.get $sx))
    (v128.store offset=144 (i32.const 0) (local.get $sy))
    (v128.store offset=160 (i32.const 0) (local.get $xMin))
    (v128.store offset=176 (i32.const 0) (local.get $xMax))
    (v128.store offset=192 (i32.const 0) (local.get $yMin))
    (v128.store offset=208 (i32.const 0) (local.get $yMax)))

  ;; spreads about the means and the KL divergence's sums of one chunk of n values, added to the state at 256:
  ;; p = max((x − xMin)·xInv, KL_FLOOR), xInv = 1/(xMax − xMin) (0 when that is not > 0), q likewise from y;
  ;; P += p, Q += q, and where p ≠ q: D += q − p, A += p·ln(p/q), E += p·ln(p/q) + q − p (why in
  ;; metrics-sums.ts, klFromSums).
  ;; The caller sees to non-finite data (a NaN p or q, which the definition keeps, becomes KL_FLOOR here).
  ;;
  ;; ln(p/q) = k·ln 2 + ln(p/q2), q2 = q·2^k, k the exponent of (p/q)·√2, so that p/q2 lies in [1/√2, √2):
  ;; p − q2 is exact there, and ln(p/q2) = ln((1 + s)/(1 − s)) = 2s + s·R(s²), s = (p − q2)/(p + q2), by
  ;; fdlibm's polynomial R. p and q lie in [KL_FLOOR, 1], so 2^k is a normal number.
  ;;
  ;; Each block of 512 values goes through two loops: the first up to s and k (two divisions deep), the
  ;; second the polynomial; one loop doing both is a dependency chain too long for the processor to overlap
  ;; iterations well (a fifth slower).
  (func (export "pass2") (param $n i32) (param $xMean f64) (param $yMean f64)
    (param $xMin f64) (param $yMin f64) (param $xInv f64) (param $yInv f64)
    (local $i i32) (local $at i32) (local $end i32) (local $j i32) (local $j2 i32)
    (local $a v128) (local $b v128) (local $mask v128)
    (local $mx v128) (local $my v128) (local $lx v128) (local $ly v128) (local $ix v128) (local $iy v128)
    (local $ca v128) (local $cb v128) (local $p v128) (local $q v128) (local $ne v128) (local $qp v128)
    (local $e v128) (local $q2 v128) (local $s v128) (local $z v128) (local $z2 v128) (local $t v128) (local $ln v128)
    (local $vx v128) (local $vy v128) (local $P v128) (local $D v128) (local $E v128) (local $A v128)
    (local $Q v128) (local $cP v128) (local $cQ v128) (local $cA v128) (local $y v128) (local $sum v128)
    (local.set $mx (f64x2.splat (local.get $xMean)))
    (local.set $my (f64x2.splat (local.get $yMean)))
    (local.set $lx (f64x2.splat (local.get $xMin)))
    (local.set $ly (f64x2.splat (local.get $yMin)))
    (local.set $ix (f64x2.splat (local.get $xInv)))
    (local.set $iy (f64x2.splat (local.get $yInv)))
    (local.set $vx (v128.load offset=256 (i32.const 0)))
    (local.set $vy (v128.load offset=272 (i32.const 0)))
    (local.set $P (v128.load offset=288 (i32.const 0)))
    (local.set $D (v128.load offset=304 (i32.const 0)))
    (local.set $E (v128.load offset=320 (i32.const 0)))
    (local.set $A (v128.load offset=336 (i32.const 0)))
    (local.set $Q (v128.load offset=352 (i32.const 0)))
    (local.set $cP (v128.load offset=368 (i32.const 0)))
    (local.set $cQ (v128.load offset=384 (i32.const 0)))
    (local.set $cA (v128.load offset=400 (i32.const 0)))
    (call $constants)
    (local.set $mask (v128.const i64x2 -1 -1))
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $end (select (i32.add (local.get $i) (i32.const 512)) (local.get $n)
          (i32.lt_u (i32.add (local.get $i) (i32.const 512)) (local.get $n))))
        (local.set $j (i32.const 0))
        (block $doneFirst
          (loop $first
            (br_if $doneFirst (i32.ge_u (local.get $i) (local.get $end)))
            (local.set $at (i32.shl (local.get $i) (i32.const 2)))
            (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
              (then
                (local.set $a (f64x2.promote_low_f32x4 (v128.load64_zero offset=1024 (local.get $at))))
                (local.set $b (f64x2.promote_low_f32x4 (v128.load64_zero offset=132096 (local.get $at)))))
              (else
                (local.set $a (f64x2.promote_low_f32x4 (v128.load32_splat offset=1024 (local.get $at))))
                (local.set $b (f64x2.promote_low_f32x4 (v128.load32_splat offset=132096 (local.get $at))))
                (local.set $mask (v128.const i64x2 -1 0))))
            (local.set $ca (v128.and (f64x2.sub (local.get $a) (local.get $mx)) (local.get $mask)))
            (local.set $cb (v128.and (f64x2.sub (local.get $b) (local.get $my)) (local.get $mask)))
            (local.set $vx (f64x2.add (local.get $vx) (f64x2.mul (local.get $ca) (local.get $ca))))
            (local.set $vy (f64x2.add (local.get $vy) (f64x2.mul (local.get $cb) (local.get $cb))))
            ;; pmax(floor, v) is "v > floor ? v : floor"
            (local.set $p (v128.and (f64x2.pmax (v128.load offset=544 (i32.const 0))
              (f64x2.mul (f64x2.sub (local.get $a) (local.get $lx)) (local.get $ix))) (local.get $mask)))
            (local.set $q (v128.and (f64x2.pmax (v128.load offset=544 (i32.const 0))
              (f64x2.mul (f64x2.sub (local.get $b) (local.get $ly)) (local.get $iy))) (local.get $mask)))
            ;; P, Q and A with Kahan's compensation (cP, cQ, cA: what their rounding lost), see klFromSums
            (local.set $y (f64x2.sub (local.get $p) (local.get $cP)))
            (local.set $sum (f64x2.add (local.get $P) (local.get $y)))
            (local.set $cP (f64x2.sub (f64x2.sub (local.get $sum) (local.get $P)) (local.get $y)))
            (local.set $P (local.get $sum))
            (local.set $y (f64x2.sub (local.get $q) (local.get $cQ)))
            (local.set $sum (f64x2.add (local.get $Q) (local.get $y)))
            (local.set $cQ (f64x2.sub (f64x2.sub (local.get $sum) (local.get $Q)) (local.get $y)))
            (local.set $Q (local.get $sum))
            (local.set $e (i64x2.shr_u (f64x2.mul (f64x2.div (local.get $p) (local.get $q)) (v128.load offset=560 (i32.const 0))) (i32.const 52)))
            (local.set $q2 (f64x2.mul (local.get $q) (i64x2.shl (local.get $e) (i32.const 52))))
            (local.set $s (f64x2.div (f64x2.sub (local.get $p) (local.get $q2)) (f64x2.add (local.get $p) (local.get $q2))))
            ;; p = q adds nothing (also the masked lane, where p = q = 0): s = k = 0 there, so ln = 0
            (local.set $ne (f64x2.ne (local.get $p) (local.get $q)))
            (local.set $qp (v128.and (f64x2.sub (local.get $q) (local.get $p)) (local.get $ne)))
            (local.set $D (f64x2.add (local.get $D) (local.get $qp)))
            ;; s, k (as a double: the biased exponent in the low bits of 2^52's mantissa, less 2^52 + 1023), p, q − p
            (v128.store offset=263168 (local.get $j) (v128.and (local.get $s) (local.get $ne)))
            (v128.store offset=263184 (local.get $j) (v128.and (local.get $ne)
              (f64x2.sub (v128.or (local.get $e) (v128.load offset=576 (i32.const 0))) (v128.load offset=592 (i32.const 0)))))
            (v128.store offset=263200 (local.get $j) (local.get $p))
            (v128.store offset=263216 (local.get $j) (local.get $qp))
            (local.set $j (i32.add (local.get $j) (i32.const 64)))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $first)))
        (local.set $j2 (i32.const 0))
        (block $doneSecond
          (loop $second
            (br_if $doneSecond (i32.ge_u (local.get $j2) (local.get $j)))
            (local.set $s (v128.load offset=263168 (local.get $j2)))
            (local.set $z (f64x2.mul (local.get $s) (local.get $s)))
            (local.set $z2 (f64x2.mul (local.get $z) (local.get $z)))
            ;; R(z)/z = lg1 + lg2·z + … + lg7·z⁶ in Estrin's order (short dependency chains)
            (local.set $t (f64x2.add
              (f64x2.add (v128.load offset=640 (i32.const 0)) (f64x2.mul (local.get $z) (v128.load offset=656 (i32.const 0))))
              (f64x2.mul (local.get $z2) (f64x2.add
                (f64x2.add (v128.load offset=672 (i32.const 0)) (f64x2.mul (local.get $z) (v128.load offset=688 (i32.const 0))))
                (f64x2.mul (local.get $z2) (f64x2.add
                  (f64x2.add (v128.load offset=704 (i32.const 0)) (f64x2.mul (local.get $z) (v128.load offset=720 (i32.const 0))))
                  (f64x2.mul (local.get $z2) (v128.load offset=736 (i32.const 0)))))))))
            ;; ln = k·ln2hi + (k·ln2lo + (2s + s·z·R(z)/z))
            (local.set $ln (v128.load offset=263184 (local.get $j2)))
            (local.set $ln (f64x2.add (f64x2.mul (local.get $ln) (v128.load offset=608 (i32.const 0)))
              (f64x2.add (f64x2.mul (local.get $ln) (v128.load offset=624 (i32.const 0)))
                (f64x2.add (f64x2.add (local.get $s) (local.get $s))
                  (f64x2.mul (local.get $s) (f64x2.mul (local.get $z) (local.get $t)))))))
            (local.set $ln (f64x2.mul (v128.load offset=263200 (local.get $j2)) (local.get $ln)))
            (local.set $y (f64x2.sub (local.get $ln) (local.get $cA)))
            (local.set $sum (f64x2.add (local.get $A) (local.get $y)))
            (local.set $cA (f64x2.sub (f64x2.sub (local.get $sum) (local.get $A)) (local.get $y)))
            (local.set $A (local.get $sum))
            (local.set $E (f64x2.add (local.get $E) (f64x2.add (local.get $ln) (v128.load offset=263216 (local.get $j2)))))
            (local.set $j2 (i32.add (local.get $j2) (i32.const 64)))
            (br $second)))
        (br $block)))
    (v128.store offset=256 (i32.const 0) (local.get $vx))
    (v128.store offset=272 (i32.const 0) (local.get $vy))
    (v128.store offset=288 (i32.const 0) (local.get $P))
    (v128.store offset=304 (i32.const 0) (local.get $D))
    (v128.store offset=320 (i32.const 0) (local.get $E))
    (v128.store offset=336 (i32.const 0) (local.get $A))
    (v128.store offset=352 (i32.const 0) (local.get $Q))
    (v128.store offset=368 (i32.const 0) (local.get $cP))
    (v128.store offset=384 (i32.const 0) (local.get $cQ))
    (v128.store offset=400 (i32.const 0) (local.get $cA)))
)
