/**
 * The fan-out toolkit, on the channel core's waiter lists: `select` (the first of several channel
 * operations, the others untouched). Overflow policies for `channel` live beside the core
 * (`channel/overflow.ts`), as they are a kind of `Chan`.
 *
 * @internal
 */
export { type Selected, type SelectOpResult, type SelectOptions, select } from "./select.js";
