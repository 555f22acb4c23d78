// Fenwick Care Software Ltd's scheduling policy: telephone first.
//
// Same-day and next-day care starts with a call; the clinician on the call
// arranges a face-to-face appointment when one is needed. So, online:
// - telephone and video slots can be booked from REMOTE_NOTICE (30 minutes)
//   to REMOTE_HORIZON (7 days) ahead;
// - in-person slots only from IN_PERSON_NOTICE (2 days) to
//   IN_PERSON_HORIZON (21 days) ahead;
// - a patient may hold at most MAX_FUTURE_IN_PERSON (one) future in-person
//   appointment at once; telephone and video appointments are not limited.
//
// Pure functions over plain data (no host imports), so they are tested in
// Node: test/policy.test.mjs.

import { times } from '@patchbay/sdk';

/** How a slot's appointment takes place (care:scheduling/records.delivery-channel). */
export type Channel = 'in-person' | 'telephone' | 'video';

/** What the policy needs of a slot. */
export interface SlotLike {
  id: string;
  period: { start: bigint; end: bigint };
  deliveryChannel: Channel;
}

/** Least notice for a telephone or video slot. */
export const REMOTE_NOTICE = 30n * times.MINUTE;
/** How far ahead telephone and video slots are booked online. */
export const REMOTE_HORIZON = 7n * times.DAY;
/** Least notice for an in-person slot. */
export const IN_PERSON_NOTICE = 2n * times.DAY;
/** How far ahead in-person slots are booked online. */
export const IN_PERSON_HORIZON = 21n * times.DAY;
/** Future in-person appointments one patient may hold. */
export const MAX_FUTURE_IN_PERSON = 1;

/** The booking window of a delivery channel: from `notice` to before `horizon` after now. */
export function bookingWindow(channel: Channel): { notice: bigint; horizon: bigint } {
  return channel === 'in-person'
    ? { notice: IN_PERSON_NOTICE, horizon: IN_PERSON_HORIZON }
    : { notice: REMOTE_NOTICE, horizon: REMOTE_HORIZON };
}

/**
 * Why a slot cannot be booked online at `now` under Fenwick's windows, for
 * a person, with what to do instead; undefined if it can.
 */
export function whyNotBookable(slot: SlotLike, now: bigint): string | undefined {
  const { notice, horizon } = bookingWindow(slot.deliveryChannel);
  const start = slot.period.start;
  if (slot.deliveryChannel === 'in-person') {
    if (start < now + notice) {
      return `slot '${slot.id}' is in person and less than 2 days ahead: Fenwick starts same-day and next-day care with a call. Book a telephone or video slot instead; the clinician will arrange to see the patient if they need to`;
    }
    if (start >= now + horizon) {
      return `slot '${slot.id}' is more than 21 days ahead: Fenwick books in-person appointments online up to 21 days ahead. Choose an earlier slot`;
    }
    return undefined;
  }
  const how = slot.deliveryChannel === 'video' ? 'video' : 'telephone';
  if (start < now + notice) {
    return `${how} slot '${slot.id}' starts in less than 30 minutes: Fenwick books telephone and video appointments online with at least 30 minutes' notice. Choose a later slot, or telephone the practice for help now`;
  }
  if (start >= now + horizon) {
    return `${how} slot '${slot.id}' is more than 7 days ahead: Fenwick books telephone and video appointments online up to 7 days ahead. Choose an earlier slot`;
  }
  return undefined;
}

/** Whether a slot can be booked online at `now` under Fenwick's windows. */
export function bookable(slot: SlotLike, now: bigint): boolean {
  return whyNotBookable(slot, now) === undefined;
}

/** The slots of `slots` Fenwick offers at `now`, in their order. */
export function offered<S extends SlotLike>(slots: readonly S[], now: bigint): S[] {
  return slots.filter((s) => bookable(s, now));
}

/**
 * Why a patient who already holds these future in-person appointments
 * (their start instants, earliest first) may not book another one;
 * undefined if they may.
 */
export function whyInPersonLimit(heldStarts: readonly bigint[]): string | undefined {
  if (heldStarts.length < MAX_FUTURE_IN_PERSON) return undefined;
  const first = heldStarts[0];
  const when = first === undefined ? '' : ` on ${times.formatDateTime(first)} UTC`;
  return `the patient already has an in-person appointment${when}: Fenwick allows one future in-person appointment at a time. Cancel or move that appointment first, or book a telephone or video slot`;
}
