/**
 * Bytes of request bodies held at once, across requests: each body has its own limit, but without a
 * total, N connections hold N bodies. Used where bodies are read before anything authenticates them
 * (webhook deliveries: the signature covers the raw bytes, so they are read first).
 */
export interface BodyBudget {
  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  take(bytes: number): boolean;
  /** Gives back bytes taken earlier. */
  give(bytes: number): void;
  /** Bytes taken now. */
  readonly held: number;
}

export function createBodyBudget(maxBytes: number): BodyBudget {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`a body budget must be a positive number of bytes, got ${maxBytes}`);
  let held = 0;
  return {
    take(bytes) {
      if (held + bytes > maxBytes) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held = Math.max(0, held - bytes);
    },
    get held() {
      return held;
    },
  };
}
