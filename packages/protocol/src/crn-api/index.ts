/** The CRN's HTTP contracts shared by the CRN (which serves them) and the CCN (which calls them). */
export * from './allocations.ts';
export * from './usage.ts';
export * from './executions.ts';
export * from './operations.ts';
export * from './crn-list.ts';
