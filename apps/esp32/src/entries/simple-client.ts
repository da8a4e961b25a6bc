// Bundle: a QoS 0/1/2 publisher and subscriber on one MQTT 3.1.1 connection (@umqtt/simple),
// with the Moddable socket and timer adapters.
export { MqttClient } from '@umqtt/simple';
export { tcpSocketFactory, moddableTimers } from '../device/index.js';
