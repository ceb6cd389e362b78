// Puts engine and raw samples side by side as the bench's JSON.
import type { CopyDirection, EngineSamples } from './engineBench';
import { gbPerSecond, ratio, summarize, type LatencySummary } from './stats';

export interface RawSamples {
  device: string;
  step: number[];
  copies: Record<CopyDirection, number[]>;
}

export interface BackendBenchResult {
  device: string;
  step: { engine: LatencySummary; raw: LatencySummary; ratioP50: number; requestedOneByOne: LatencySummary };
  copies: Record<CopyDirection, { bytes: number; engineGBps: number; rawGBps: number; ratio: number; endToEndGBps: number }>;
}

export function sideBySide(engine: EngineSamples, raw: RawSamples, copyBytes: number): BackendBenchResult {
  const engineStep = summarize(engine.step);
  const rawStep = summarize(raw.step);
  const copy = (direction: CopyDirection): BackendBenchResult['copies'][CopyDirection] => {
    const engineGBps = gbPerSecond(copyBytes, summarize(engine.copies[direction].inHost).p50Ms);
    const rawGBps = gbPerSecond(copyBytes, summarize(raw.copies[direction]).p50Ms);
    return {
      bytes: copyBytes, engineGBps, rawGBps,
      // Time ratio, engine over raw: 1.0 is free, 1.2 is 20% slower.
      ratio: ratio(rawGBps, engineGBps),
      endToEndGBps: gbPerSecond(copyBytes, summarize(engine.copies[direction].endToEnd).p50Ms),
    };
  };
  return {
    device: raw.device,
    step: { engine: engineStep, raw: rawStep, ratioP50: ratio(engineStep.p50Ms, rawStep.p50Ms), requestedOneByOne: summarize(engine.stepRequested) },
    copies: { hostToDevice: copy('hostToDevice'), deviceToHost: copy('deviceToHost'), deviceToDevice: copy('deviceToDevice') },
  };
}
