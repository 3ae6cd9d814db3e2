/**
 * `@streamline/cross-app-sdk/react`: the React components arrive with the next issue.
 * This entry point exists so the package layout and its size budget are in place.
 */
export const REACT_ENTRY_VERSION = 0;
