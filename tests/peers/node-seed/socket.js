// The seed's socket.js, with three changes so it can be compared with the Rust servers:
// - ws 8 hands text messages over as Buffers; `toString()` prints them as the seed's ws 5 did;
// - TICK_INTERVAL_MS (default 3000, the seed's value) so short smoke runs see ticks;
// - `/echo` is served by a second `ws` server; both use `noServer` and are routed on upgrade by
//   path (the seed's `{ server }` option would take every path).
const WebSocket = require('ws');

const TICK_INTERVAL_MS = Number(process.env.TICK_INTERVAL_MS) || 3000;

module.exports = (server) => {
    const wss = new WebSocket.Server({ noServer: true });
    const echo = new WebSocket.Server({ noServer: true });

    server.on('upgrade', (req, socket, head) => {
        const { pathname } = new URL(req.url, 'http://localhost');
        const target = pathname === '/echo' ? echo : wss;
        target.handleUpgrade(req, socket, head, (ws) => {
            target.emit('connection', ws, req);
        });
    });

    echo.on('connection', (ws) => {
        ws.on('message', (message, isBinary) => {
            ws.send(message, { binary: isBinary });
        });
        ws.on('error', (error) => {
            console.error(error);
        });
    });

    wss.on('connection', (ws, req) => {
        const ip = req.headers['x-forwarded-for'] || req.connection.remoteAddress;
        console.log('새로운 클라이언트 접속', ip);
        ws.on('message', (message, isBinary) => {
            console.log(isBinary ? message : message.toString());
        });
        ws.on('error', (error) => {
            console.error(error);
        });
        ws.on('close', () => {
            console.log('클라이언트 접속 해제', ip);
            clearInterval(ws.interval);
        });
        const interval = setInterval(() => {
            if (ws.readyState === ws.OPEN) {
                ws.send('서버에서 클라이언트로 메시지를 보냅니다.');
            }
        }, TICK_INTERVAL_MS);
        ws.interval = interval;
    });
};
