import COpenBLAS
import Glibc

/// OpenBLAS's thread count, shared fairly by everything that computes at once.
///
/// The count is one setting for the whole process: OpenBLAS's pthreads build (Debian's)
/// has no count per thread or per call. Every BLAS and LAPACKE call of Tessera runs while
/// holding it at the count its ``ExecutionContext`` asks for. Holders that ask for the same
/// count run at the same time; one that asks for another waits until they are done and
/// then sets it. No call ever runs on a count it did not ask for, which matters beyond
/// speed: OpenBLAS's kernels round differently on one thread than on several, so a
/// training run would no longer be reproducible.
///
/// A convolution pass holds the count its GEMMs ask for over the whole pass: 1 when its
/// cores take tiles of their own (each part of a parallel loop computes in a context of
/// one thread), so that OpenBLAS is not switched back and forth between its GEMMs. A
/// holder must not ask again for another count on the same thread, or it would wait for
/// itself.
package enum BLASThreads {
    private static let gate = Gate()

    /// Runs `body` while OpenBLAS runs on `count` threads.
    package static func holding<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        gate.enter(count)
        defer { gate.leave() }
        return try body()
    }

    private final class Gate: @unchecked Sendable {
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let released = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        /// Guarded by `mutex`: the holders now, and the count they hold.
        private var holders = 0
        private var count = 0

        init() {
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(released, nil)
        }

        func enter(_ wanted: Int) {
            pthread_mutex_lock(mutex)
            while holders > 0 && count != wanted { pthread_cond_wait(released, mutex) }
            // Read back each time: loading other kernels re-initialises OpenBLAS.
            if holders == 0 && Int(openblas_get_num_threads()) != wanted { openblas_set_num_threads(Int32(wanted)) }
            count = wanted
            holders += 1
            pthread_mutex_unlock(mutex)
        }

        func leave() {
            pthread_mutex_lock(mutex)
            holders -= 1
            if holders == 0 { pthread_cond_broadcast(released) }
            pthread_mutex_unlock(mutex)
        }
    }
}
