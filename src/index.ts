// Worker entry point: the Hono app is the default export's fetch handler.
import { createApp } from './app';

/** The Worker: every route of geogate (see README.md). */
export default createApp() satisfies ExportedHandler<Env>;
