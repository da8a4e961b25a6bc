// The device bundles inside Moddable's XS engine (npm @agoric/xsnap, compiled from C at install).
import { startXs } from './bridge/xs.js';
import { engineSuite } from './engine-scenarios.js';

engineSuite('xs', startXs);
