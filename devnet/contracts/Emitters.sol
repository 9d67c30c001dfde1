// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Placed (by anvil_setCode) at the Gate, Config, market and instrument addresses: emits one log whose topics and
// data are the calldata: [1 byte topic count][32 bytes per topic][ABI-encoded data].  So every log carries exactly
// the real topics and ABI encoding, produced off-chain from models/events.py.
contract LogEmitter {
    fallback() external {
        assembly {
            let n := shr(248, calldataload(0))
            let off := add(1, mul(n, 32))
            let len := sub(calldatasize(), off)
            calldatacopy(0, off, len)
            switch n
            case 0 { log0(0, len) }
            case 1 { log1(0, len, calldataload(1)) }
            case 2 { log2(0, len, calldataload(1), calldataload(33)) }
            case 3 { log3(0, len, calldataload(1), calldataload(33), calldataload(65)) }
            default { log4(0, len, calldataload(1), calldataload(33), calldataload(65), calldataload(97)) }
        }
    }
}

// One transaction = one or more protocol actions: the router calls each emitter in order, so the logs of a tx
// come from several addresses with the log order the contracts would produce.
// Calldata: repeated [20 bytes target][2 bytes payload length][payload].
contract LogRouter {
    fallback() external {
        assembly {
            let p := 0
            let end := calldatasize()
            for { } lt(p, end) { } {
                let target := shr(96, calldataload(p))
                let len := shr(240, calldataload(add(p, 20)))
                calldatacopy(0, add(p, 22), len)
                if iszero(call(gas(), target, 0, 0, len, 0, 0)) { revert(0, 0) }
                p := add(p, add(22, len))
            }
        }
    }
}

// At the Observer's address on the devnet: answers view calls with responses stored beforehand (from the
// simulator's state), keyed by keccak256(calldata): slot key holds the length, key+1.. the ABI-encoded words.
// An unknown call reverts, as a call the devnet cannot answer.
contract ResponseTable {
    fallback() external {
        assembly {
            calldatacopy(0, 0, calldatasize())
            let key := keccak256(0, calldatasize())
            let len := sload(key)
            if iszero(len) { revert(0, 0) }
            let words := div(add(len, 31), 32)
            for { let i := 0 } lt(i, words) { i := add(i, 1) } {
                mstore(mul(i, 32), sload(add(key, add(i, 1))))
            }
            return(0, len)
        }
    }
}
