const WebSocket = require('ws');

module.exports = (server) => {
    /*
        ws 모듈을 불러온 후 익스프레스 서버를 웹 소켓 서버와 연결했다. 익스프레스(HTTP)와 
        웹 소켓(WS)은 같은 포트를 공유할 수 있으므로 별도의 작업이 필요하지 않다.  
    */
    const wss = new  WebSocket.Server({ server });
    /*
        연결 후에는 웹 소켓 서버(wss)에 이벤트 리스너를 붙여준다. 웹 소켓은 이벤트 기반으로   
        작동한다고 생각하면 된다. 실시간으로 데이터를 전달받으므로 항상 대기하고 있어야 한다.  
        connection 이벤트는 클라이언트가 서버와 웹 소켓 연결을 맺을 때 발생한다.  
    */
    wss.on('connection', (ws, req) => {
        /*
            req.headers['x-forwarded-for'] || req.connection.remoteAddress)는 클라이언트의 IP를  
            알아내는 유명한 방법 중 하나이므로 알아두는게 좋다. 익스프레스에서는 IP를 확인할 때,   
            proxy-addr 패키지를 사용하므로 이 패키지를 사용해도 괜찮다. 크롬에서는 로컬 호스트로  
            접속한 경우, IP가 ::1로 뜬다. 다른 브라우저에서는 ::1 외의 다른 IP가 뜰 수 있다.
        */
        const ip = req.headers['x-forwarded-for'] || req.connection.remoteAddress;
        console.log('새로운 클라이언트 접속', ip);
        /*
            익스프레스 서버와 연결한 후, 웹 소켓 객체(ws)에 이벤트 리스너 세 개, 즉 message, error, 
            close를 연결해주었다. message는 클라이언트로부터 메시지가 왔을 때 발생하고, error는 웹 소켓  
            연결 중 문제가 생겼을 때 발생한다. close 이벤트는 클라이언트와 연결이 끊겼을 때 발생한다.
        */
        ws.on('message', (message) => {
            console.log(message);
        });
        ws.on('error', (error) => {
            console.error(error);
        });
        /*
            close 이벤트에서 setInterval을 clearInterval로 정리하는 것도 꼭 기억해두자.  
            이 부분이 없다면 메모리 누수가 발생한다(메세지를 3초마다 계속 보내므로).   
            프로그래밍을 할 때는 이렇게 사소한 것이 큰 영향을 미치기도 한다.
        */
        ws.on('close', () => {
            console.log('클라이언트 접속 해제', ip);
            clearInterval(ws.interval);
        });
        /*
            setInterval은 3초마다 연결된 모든 클라이언트에게 메시지를 보내는 부분이다. 먼저 readyState가  
            OPEN 상태인지 확인한다. 웹 소켓에서는 네 가지 상태가 있다. CONNECTING(연결중), CLOSING(닫는중),
            CLOSED(닫힘)이다. OPEN일 때만 에러없이 메시지를 보낼 수 있다. 확인 후 ws.send 메서드로 하나의  
            클라이언트에게 메시지를 보낸다. 
        */
        const interval = setInterval(() => {
            if (ws.readyState === ws.OPEN) {
                ws.send('서버에서 클라이언트로 메시지를 보냅니다.');
            }
        }, Number(process.env.TICK_INTERVAL_MS) || 3000); // CHANGED for tests/bench: the seed's 3000 ms unless TICK_INTERVAL_MS is set
        ws.interval = interval;
    });
};
