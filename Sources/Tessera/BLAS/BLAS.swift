import COpenBLAS
import Foundation

/// Typed wrappers over OpenBLAS's CBLAS interface, row-major throughout.
///
/// This folder is the only place that calls cblas. Matrices are described the BLAS way:
/// a base pointer, logical rows × columns, and a leading dimension (the distance between
/// the starts of consecutive rows), which may exceed the column count for sub-matrices.
public enum BLAS {
    /// The number of threads OpenBLAS's last call ran on. Each call runs on the current
    /// ``ExecutionContext``'s threads (see ``BLASThreads``).
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Runs `body`, which calls OpenBLAS or LAPACKE, on the current context's threads and
    /// with the kernels loaded.
    static func call<Result>(_ body: () throws -> Result) rethrows -> Result {
        try BLASThreads.holding(ExecutionContext.currentThreads) { try BLASKernels.access.shared(body) }
    }

    /// The CPU core whose kernels OpenBLAS runs (e.g. "Haswell", "Cooperlake"); see
    /// ``BLASKernels`` for who chose them.
    public static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// OpenBLAS's build, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64".
    public static var configuration: String {
        openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS (configuration unknown)"
    }

    /// `C = alpha · op(A) · op(B) + beta · C`, with `op(A)` of shape `[m, k]`, `op(B)` of
    /// shape `[k, n]` and `C` of shape `[m, n]`.
    ///
    /// - Parameters:
    ///   - transposeA: whether `A` is stored as `[k, m]` and used transposed.
    ///   - transposeB: whether `B` is stored as `[n, k]` and used transposed.
    ///   - lda, ldb, ldc: leading dimensions of `A`, `B` and `C` as stored.
    ///   - beta: 0 overwrites `C` (its old contents are never read); 1 accumulates.
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        require(m >= 0 && n >= 0 && k >= 0, "BLAS.gemm: negative size m=\(m) n=\(n) k=\(k)")
        require(lda >= max(1, transposeA ? m : k), "BLAS.gemm: lda \(lda) too small for op(A) [\(m), \(k)]")
        require(ldb >= max(1, transposeB ? k : n), "BLAS.gemm: ldb \(ldb) too small for op(B) [\(k), \(n)]")
        require(ldc >= max(1, n), "BLAS.gemm: ldc \(ldc) too small for C [\(m), \(n)]")
        guard m > 0 && n > 0 else { return }
        BLASKernels.noticeOnce
        call { cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc)) }
    }

    /// `y = alpha · op(A) · x + beta · y` for `A` stored as `[rows, columns]`.
    public static func gemv(
        transposeA: Bool = false, rows: Int, columns: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, incx: Int = 1,
        beta: Float = 0, y: UnsafeMutablePointer<Float>, incy: Int = 1
    ) {
        require(lda >= max(1, columns), "BLAS.gemv: lda \(lda) too small for [\(rows), \(columns)]")
        guard rows > 0 && columns > 0 else { return }
        call { cblas_sgemv(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
            Int32(rows), Int32(columns), alpha, a, Int32(lda),
            x, Int32(incx), beta, y, Int32(incy)) }
    }

    /// `y += alpha · x` over `count` elements.
    public static func axpy(
        count: Int, alpha: Float, x: UnsafePointer<Float>, incx: Int = 1,
        y: UnsafeMutablePointer<Float>, incy: Int = 1
    ) {
        call { cblas_saxpy(Int32(count), alpha, x, Int32(incx), y, Int32(incy)) }
    }

    /// The dot product `xᵀ y` over `count` elements.
    public static func dot(
        count: Int, x: UnsafePointer<Float>, incx: Int = 1, y: UnsafePointer<Float>, incy: Int = 1
    ) -> Float {
        call { cblas_sdot(Int32(count), x, Int32(incx), y, Int32(incy)) }
    }

    /// `x *= alpha` over `count` elements.
    public static func scal(count: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incx: Int = 1) {
        call { cblas_sscal(Int32(count), alpha, x, Int32(incx)) }
    }
}
