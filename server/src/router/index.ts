// The K2K router's public face: what the runtime, the protocol and the tests use.
export { K2KRouter, type K2KRouterOptions } from './k2kRouter';
export type { Envelope } from './envelope';
export type { RestoredMessages, SavedMessage, SavedMessages, SavedPair } from './routerCheckpoint';
export * from './routerTypes';
export * from './routerStats';
export { decideRoute, ROUTE_KINDS, type RouteKind, type RoutingDecision, type RoutingPolicy } from './routingDecision';
export { RoutingTable } from './routingTable';
export {
  HybridLogicalClock,
  HLC_LOGICAL_BITS,
  hlcLowWord,
  packHlc,
  unpackHlc,
  type HlcParts,
  type HlcTimestamp,
  type HybridLogicalClockOptions,
} from './hybridLogicalClock';
export { OutboxSlots, DecodedMessages, messageList, type MessageList } from './outboxSlots';
export { encodeInbox, decodeInbox, type EncodedInbox, type InboxSlot } from './inboxLayout';
export { LATENCY_SAMPLES, type Percentiles } from './trafficWindow';
