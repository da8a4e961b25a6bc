// Bundle: a QoS 0/1/2 publisher and subscriber on one MQTT 5.0 connection (@umqtt/simple/v5's
// MqttClient5, maxPacketSize 8 KiB by default), with the Moddable socket and timer adapters.
export { MqttClient5 } from '../device/defaults-v5.js';
export { tcpSocketFactory, moddableTimers } from '../device/index.js';
