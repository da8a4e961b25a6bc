// The device bundles inside Moddable's XS engine (npm @agoric/xsnap, compiled from C at install).
import { startXs } from './bridge/xs.js';
import { engineSuite } from './engine-scenarios.js';

engineSuite('xs', startXs);
// the same against stand-ins of the oldest SDK the glue supports (5.0.0)
engineSuite('xs', startXs, { sdk: 'oldest' });
