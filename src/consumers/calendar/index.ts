export { createCalendarFlow, type CalendarFlowOptions, type CalendarPrepared } from './flow.js';
