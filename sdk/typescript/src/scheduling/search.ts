// The pure parts of the scheduling standard's operations: limits from GP
// Connect, the search check and the limit. No host imports, so they run
// (and are tested) in Node as well as in a component.

import type { SlotSearch } from 'care:scheduling/booking@0.2.0';
import { invalid } from '../outcomes.js';
import { DAY } from '../times.js';

/** GP Connect: a description is at most 100 characters. */
export const MAX_DESCRIPTION = 100;
/** GP Connect: a comment is at most 500 characters. */
export const MAX_COMMENT = 500;
/** GP Connect: a slot search covers at most 14 days. */
export const MAX_SEARCH_DAYS = 14n;

/**
 * Checks a slot search: a period that ends after it starts and spans at
 * most 14 days. Throws an `invalid` refusal at `period` otherwise.
 */
export function checkSearch(search: Pick<SlotSearch, 'period'>): void {
  const { start, end } = search.period;
  if (end <= start) {
    throw invalid('the search period must end after it starts').at('period');
  }
  if (end - start > MAX_SEARCH_DAYS * DAY) {
    throw invalid(
      `the search period spans more than ${MAX_SEARCH_DAYS} days: search a shorter window`,
    ).at('period');
  }
}

/** Keeps at most `limit` items (slots), if a limit is given. */
export function applyLimit<T>(items: T[], limit: number | undefined): T[] {
  return limit === undefined ? items : items.slice(0, limit);
}
