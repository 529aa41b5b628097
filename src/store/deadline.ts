// Waiting for a promise at most so long: the one timeout race the data plane and the account
// memory share (a store load's budget, a sync check's memory budget, a background record's cap).

/** What {@link beforeDeadline} answers when the deadline passed first. */
export const LATE: unique symbol = Symbol('late');

/**
 * `p`'s value, or LATE when `ms` pass first; rejects when `p` rejects in time. The timer is
 * cleared as soon as either side settles, and `p` keeps running when LATE is answered.
 */
export function beforeDeadline<T>(p: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
