import Foundation
import Tessera

// Every input is decoded or rejected with a SafeTensorsError; anything else is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    do {
        _ = try SafeTensors.decode(bytes.map { Data(bytes: $0, count: count) } ?? Data(), path: "input")
    } catch is SafeTensorsError {
    } catch {
        fatalError("unexpected error: \(error)")
    }
    return 0
}
