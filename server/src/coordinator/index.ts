// The coordinator's public face: which kernel runs where, and where kernels go when a device leaves.
export * from './coordinatorTypes';
export { ineligibleReason, pickByStrategy, type BuiltInStrategy } from './placementStrategies';
export * from './multiGpuCoordinator';
export * from './asyncSelector';
