// The kernel ABI's four bindings in WGSL (docs/kernel-abi.md), for test kernels to start from.
export const WGSL_ABI = `
struct Control { step: u32, kernel_index: u32, inbox_count: u32, outbox_capacity: u32 }
struct Slot { destination: u32, kind: u32, length: u32, reserved: u32, payload: array<u32, 12> }
struct Outbox { count: atomic<u32>, pad0: u32, pad1: u32, pad2: u32, slots: array<Slot> }
@group(0) @binding(0) var<storage, read> control: Control;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read> inbox: array<Slot>;
@group(0) @binding(3) var<storage, read_write> outbox: Outbox;
`;
