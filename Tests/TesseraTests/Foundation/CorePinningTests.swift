import Foundation
import Testing
import Tessera

@Suite("core pinning")
struct CorePinningTests {
    @Test("the allowed cores are read from the affinity mask, and a pinned thread may run on its core alone")
    func pinOneThread() async {
        let cores = CoreBudget.allowedCoresOfCallingThread()
        #expect(cores.count == ProcessInfo.processInfo.activeProcessorCount)
        #expect(cores == cores.sorted() && Set(cores).count == cores.count)
        // A thread of its own, which ends afterwards, so that no test thread stays pinned.
        let seen = await withCheckedContinuation { continuation in
            Thread {
                CorePinning.pin(thread: 0, to: cores.last!)
                continuation.resume(returning: CoreBudget.allowedCoresOfCallingThread())
            }.start()
        }
        #expect(seen == [cores.last!])
    }
}
